"""The language list and the one message catalogue for every user-facing string, library and dashboard.

Catalogues are gettext .po files, one per language, in koban_geo/locales/ (English is the source language
and has none). They are read with Babel's `read_po` at first use and cached for the life of the process, so
a clean checkout needs no compile step. Write a string as ``gettext("English text", lang)``, a counted one
as ``ngettext("{n} week", "{n} weeks", n, lang).format(n=n)`` (each language's plural rule comes from its
.po header: Polish has three forms), and a string defined in a table but translated later as
``N_("English text")``. `python tools/i18n.py` extracts them (from koban_geo/ and dashboard/) into
koban_geo/locales/messages.pot and merges them into each .po file; tests/test_i18n.py fails on a missing
translation.

>>> gettext("not significant", "nl"), pgettext("theme", "Noise", "fi")
('niet significant', 'Melu')
>>> ngettext("persistent for {n} month", "persistent for {n} months", 5, "pl").format(n=5)
'stały punkt zapalny od 5 miesięcy'
>>> format_month(date(2026, 12, 1), "fi")
'joulu 2026'
"""

from __future__ import annotations

import gettext as _stdlib_gettext
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "nl", "fr", "pl", "fi", "es", "pt")
SOURCE_LANGUAGE = "en"
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "nl": "Nederlands",
    "fr": "Français",
    "pl": "Polski",
    "fi": "Suomi",
    "es": "Español",
    "pt": "Português",
}
LOCALES = Path(__file__).resolve().parent.parent / "locales"

__all__ = [
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "LOCALES",
    "N_",
    "format_date",
    "format_month",
    "gettext",
    "messages",
    "ngettext",
    "pgettext",
    "plurals",
    "supported",
]


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it here (it is translated where it is shown)."""
    return msgid


def supported(lang: str | None) -> str:
    """`lang` when it is one of `LANGUAGES`, else English."""
    return lang if lang in LANGUAGES else SOURCE_LANGUAGE


@cache
def _read(lang: str) -> Any:
    """The Babel catalogue of one language, or None (English, or a broken install: English is shown)."""
    from babel.messages.pofile import read_po

    path = LOCALES / f"{lang}.po"
    if lang == SOURCE_LANGUAGE or not path.is_file():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


@cache
def messages(lang: str) -> dict[str, str]:
    """msgid -> translation for the singular messages of one language (empty for English)."""
    cat = _read(supported(lang))
    if cat is None:
        return {}
    return {_key(m.context, m.id): m.string for m in cat if isinstance(m.id, str) and m.id
            and isinstance(m.string, str) and m.string and not m.fuzzy}  # fmt: skip


def _key(context: str | None, msgid: str) -> str:
    """gettext's own key of a message with a context: context, EOT, msgid."""
    return msgid if context is None else f"{context}\x04{msgid}"


def _english_rule(n: int) -> int:
    return int(n != 1)


@cache
def plurals(lang: str) -> tuple[dict[str, tuple[str, ...]], Callable[[int], int]]:
    """singular msgid -> the translated forms, and the language's plural rule (n -> index of the form)."""
    cat = _read(supported(lang))
    if cat is None:
        return {}, _english_rule
    forms = {m.id[0]: tuple(m.string) for m in cat if isinstance(m.id, tuple) and isinstance(m.string, tuple)
             and all(m.string) and not m.fuzzy}  # fmt: skip
    rule: Callable[[int], int] = _stdlib_gettext.c2py(
        cat.plural_expr
    )  # the header's C expression, parsed safely
    return forms, rule


def gettext(msgid: str, lang: str) -> str:
    """The translation of msgid in `lang`, or msgid itself where none exists (never an empty string)."""
    return messages(supported(lang)).get(msgid, msgid)


def pgettext(context: str, msgid: str, lang: str) -> str:
    """The translation of msgid in `context` (e.g. "theme": a theme's label), or msgid itself."""
    return messages(supported(lang)).get(_key(context, msgid), msgid)


def ngettext(singular: str, plural: str, n: int, lang: str) -> str:
    """The form of a counted message for n in `lang`: "1 phone", "2 phones", "5 telefonów"."""
    forms, rule = plurals(supported(lang))
    found = forms.get(singular)
    if not found:
        return singular if n == 1 else plural
    return found[min(rule(int(n)), len(found) - 1)]


def format_date(day: date, lang: str, pattern: str = "medium") -> str:
    """`day` in the language's own way ("7 Dec 2026", "7 gru 2026"); `pattern` a Babel format or a CLDR pattern."""
    from babel.dates import format_date as babel_format_date

    return str(babel_format_date(day, pattern, locale=supported(lang)))


def format_month(day: date, lang: str) -> str:
    """A month as people of `lang` write it: "Dec 2026", "gru 2026", "joulu 2026" (Babel's CLDR data)."""
    from babel.dates import format_skeleton

    return str(format_skeleton("yMMM", day, locale=supported(lang)))
