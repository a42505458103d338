"""One message catalogue for every UI string: gettext .po files in dashboard/locales/, read with Babel.

Write UI strings as `_("English text")` (or `_("Hello {name}").format(name=...)`), and counted ones as
`ngettext("{n} phone", "{n} phones", n).format(n=n)` (each language's plural forms from its .po header:
Polish has three); `python tools/i18n.py`
extracts them into dashboard/locales/messages.pot and merges them into each language's .po file.
tests/test_i18n.py fails when a string has no translation in any language.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from pathlib import Path

LANGS: tuple[str, ...] = ("en", "nl", "fr", "pl", "fi", "es", "pt")
LANG_NAMES: dict[str, str] = {
    "en": "English",
    "nl": "Nederlands",
    "fr": "Français",
    "pl": "Polski",
    "fi": "Suomi",
    "es": "Español",
    "pt": "Português",
}
LOCALES = Path(__file__).resolve().parent.parent / "locales"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid -> translation for one language (English is the source language: an empty catalogue)."""
    if lang == "en":
        return {}
    from babel.messages.pofile import read_po

    path = LOCALES / f"{lang}.po"
    if not path.is_file():  # a broken install shows English rather than no page; tests/test_i18n.py fails
        return {}
    with path.open("rb") as handle:
        cat = read_po(handle, locale=lang)
    # singular messages only (a plural's id and string are tuples; the catalogue has none)
    return {m.id: m.string for m in cat if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string
            and not m.fuzzy}  # fmt: skip


@cache
def plurals(lang: str) -> tuple[dict[str, tuple[str, ...]], Callable[[int], int]]:
    """singular msgid -> the translated forms, and the language's plural rule (n -> index of the form)."""
    if lang == "en":
        return {}, lambda n: int(n != 1)
    from babel.messages.pofile import read_po

    path = LOCALES / f"{lang}.po"
    if not path.is_file():
        return {}, lambda n: int(n != 1)
    with path.open("rb") as handle:
        cat = read_po(handle, locale=lang)
    forms = {m.id[0]: tuple(m.string) for m in cat if isinstance(m.id, tuple) and isinstance(m.string, tuple)
             and all(m.string) and not m.fuzzy}  # fmt: skip
    return forms, gettext.c2py(cat.plural_expr)  # the .po header's C expression, parsed safely by the stdlib


def translate_plural(singular: str, plural: str, n: int, lang: str) -> str:
    """The form of a counted message for n in `lang` (English: singular for 1, else plural)."""
    forms, rule = plurals(lang if lang in LANGS else "en")
    found = forms.get(singular)
    if not found:
        return singular if n == 1 else plural
    return found[min(rule(int(n)), len(found) - 1)]


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a counted UI string into the session's language: "1 phone", "2 phones", "5 telefonów"."""
    return translate_plural(singular, plural, n, current_lang())


def translate(msgid: str, lang: str) -> str:
    """The translation of msgid, or msgid itself where none exists (never an empty string)."""
    if lang not in LANGS:
        lang = "en"
    return catalogue(lang).get(msgid, msgid)


def current_lang() -> str:
    """The language of this browser session: ?lang=, else the switch, else English."""
    import streamlit as st

    asked = st.query_params.get("lang")
    if asked in LANGS:
        st.session_state["lang"] = asked
    lang = st.session_state.get("lang", "en")
    return lang if lang in LANGS else "en"


def _(msgid: str) -> str:
    """Translate a UI string into the session's language."""
    return translate(msgid, current_lang())


def lang_key(key: str, default: object = None) -> str:
    """The widget key to use in this language, with the value carried over between languages.

    Streamlit's browser side keeps a keyed widget's option labels as first drawn, so a dropdown whose labels
    are translated would still show "Last 12 months" after a switch to Dutch. Such a widget gets a key per
    language (English keeps the plain key); its value, a stable code, is carried over through `keep`.
    `default` starts the widget when no language has a value yet."""
    import streamlit as st

    lang = current_lang()
    new = key if lang == "en" else f"{key}-{lang}"
    if new not in st.session_state:
        saved = st.session_state.get(f"{key}::value", default)
        if saved is not None:
            st.session_state[new] = saved
    return new


def keep(key: str, value: object) -> None:
    """Remember a widget's value (a code, not a label) for the same widget in another language."""
    import streamlit as st

    st.session_state[f"{key}::value"] = value


def language_switch(key: str = "lang-switch") -> str:
    """A language select box bound to the session and to ?lang= (so a shared link keeps the language)."""
    import streamlit as st

    lang = current_lang()
    chosen = st.selectbox(
        "Language / Taal / Langue / Język / Kieli / Idioma / Língua",
        LANGS,
        index=LANGS.index(lang),
        format_func=LANG_NAMES.__getitem__,
        key=key,
        label_visibility="collapsed",
    )
    if chosen != lang:
        st.session_state["lang"] = chosen
        st.query_params["lang"] = chosen
        st.rerun()
    return chosen
