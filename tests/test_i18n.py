"""Every UI string exists in every language, with the same placeholders; the template matches the code."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ui.i18n import LANGS, LOCALES, plurals, translate, translate_plural

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "tools" / "i18n.py")
assert _spec and _spec.loader
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)

PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@pytest.fixture(scope="module")
def template():
    return tool.extract()


def test_the_template_is_up_to_date_with_the_code(template):
    with (LOCALES / "messages.pot").open("rb") as handle:
        stored = {m.id for m in read_po(handle) if m.id}
    in_code = {m.id for m in template if m.id}
    assert in_code - stored == set(), "run `python tools/i18n.py` to add new strings"
    assert stored - in_code == set(), "run `python tools/i18n.py` to drop strings no longer used"


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_every_string_is_translated(template, lang):
    gaps = tool.missing(template).get(lang, [])
    assert gaps == [], f"{lang}: {len(gaps)} strings without a translation, e.g. {gaps[:3]}"


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_translations_keep_their_placeholders(template, lang):
    wrong = []
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple):  # a counted message: every form keeps the plural's placeholders
            forms = plurals(lang)[0].get(message.id[0], ())
            wrong += [
                (message.id, f)
                for f in forms
                if sorted(PLACEHOLDER.findall(message.id[1])) != sorted(PLACEHOLDER.findall(f))
            ]
            continue
        translated = translate(message.id, lang)
        if sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(translated)):
            wrong.append((message.id, translated))
    assert wrong == []


def test_counted_strings_follow_each_languages_plural_forms():
    one, many = "{group}: {n} phone, weight {w:g}", "{group}: {n} phones, weight {w:g}"

    def said(n: int, lang: str) -> str:
        return translate_plural(one, many, n, lang).format(group="G", n=n, w=1)

    assert [said(n, "en") for n in (0, 1, 2)] == [
        "G: 0 phones, weight 1",
        "G: 1 phone, weight 1",
        "G: 2 phones, weight 1",
    ]
    assert [said(n, "pl") for n in (1, 2, 5, 22, 25)] == [
        "G: 1 telefon, waga 1", "G: 2 telefony, waga 1", "G: 5 telefonów, waga 1", "G: 22 telefony, waga 1",
        "G: 25 telefonów, waga 1",
    ]  # fmt: skip
    assert said(0, "fr") == "G : 0 téléphone, poids 1"  # French: 0 takes the singular
    assert said(2, "xx") == "G: 2 phones, weight 1"


def test_chart_months_are_named_in_the_session_language():
    from datetime import date

    from ui.layout import month_name

    december = date(2026, 12, 1)
    assert [month_name(december, lang) for lang in ("en", "pl", "fi")] == [
        "Dec 2026",
        "gru 2026",
        "joulu 2026",
    ]
    assert month_name("2026-12-01", "nl") == "dec 2026"  # the card's "YYYY-MM-01" strings too
