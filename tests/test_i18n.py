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


# --- the library's strings: one catalogue, one helper (koban_geo.store.i18n) -------------------------------


def test_the_template_holds_the_librarys_strings(template):
    from koban_geo.analysis.hotspots import BIN_LABELS
    from koban_geo.privacy.audience import PRECISION_NOTES
    from koban_geo.store.taxonomy import themes

    ids = {(m.context, m.id) for m in template}
    assert {(None, text) for text in [*BIN_LABELS.values(), *PRECISION_NOTES.values()]} <= ids
    assert {("theme", t.labels["en"]) for t in themes()} <= ids
    assert (None, ("persistent for {n} month", "persistent for {n} months")) in ids  # emerging, counted
    assert ("meeting pack", "Meeting pack") in ids and ("ballot slip", "Ballot slips") in ids
    assert (None, "Hot spot near {area}") in ids


def _catalogues_without(tmp_path, lang: str, context: str | None, msgid: str):
    """A copy of the catalogues in which `lang` lost the translation of one message."""
    from babel.messages.pofile import write_po

    for path in LOCALES.glob("*.po*"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    with (tmp_path / f"{lang}.po").open("rb") as handle:
        cat = read_po(handle, locale=lang)
    message = cat.get(msgid, context=context)
    assert message is not None and message.string
    message.string = ("", "") if isinstance(msgid, tuple) else ""
    with (tmp_path / f"{lang}.po").open("wb") as handle:
        write_po(handle, cat)
    return tmp_path


@pytest.mark.parametrize(
    ("lang", "context", "msgid"),
    [
        ("fi", None, "hot spot (99 % confidence)"),  # a Gi* bin, analysis/hotspots.py
        ("pl", "theme", "Noise"),  # a theme label, data/themes.csv
        ("pt", "meeting pack", "Agreed actions"),  # a meeting-pack heading
        ("nl", None, ("getting worse for {n} week", "getting worse for {n} weeks")),  # emerging, counted
    ],
)
def test_a_missing_library_translation_fails_the_check(template, tmp_path, monkeypatch, lang, context, msgid):
    monkeypatch.setattr(tool, "LOCALES", _catalogues_without(tmp_path, lang, context, msgid))
    assert tool.missing(template) == {lang: [msgid]}
    assert tool.main(["--check"]) == 1
    monkeypatch.setattr(tool, "LOCALES", LOCALES)
    assert tool.main(["--check"]) == 0


def test_the_library_helper_translates_counts_and_dates():
    from datetime import date

    from koban_geo.store.i18n import format_date, format_month, gettext, ngettext, pgettext

    assert gettext("hot spot (99 % confidence)", "nl") == "hotspot (99% betrouwbaarheid)"
    assert gettext("hot spot (99 % confidence)", "xx") == "hot spot (99 % confidence)"  # unknown: English
    assert pgettext("theme", "Noise", "fi") == "Melu" and pgettext("theme", "Noise", "en") == "Noise"
    assert pgettext("meeting pack", "Areas", "nl") == "Gebieden"  # the pack keeps its own words...
    assert gettext("Areas", "nl") == "Buurten"  # ...beside the dashboard's
    weeks = [
        ngettext("persistent for {n} week", "persistent for {n} weeks", n, "pl").format(n=n)
        for n in (1, 2, 5)
    ]
    assert weeks == ["stały punkt zapalny od 1 tygodnia", "stały punkt zapalny od 2 tygodni",
                     "stały punkt zapalny od 5 tygodni"]  # fmt: skip
    week = ("a hotspot for the last {n} week", "a hotspot for the last {n} weeks")
    assert ngettext(*week, 0, "fr") == "point chaud depuis {n} semaine"  # French: 0 takes the singular
    assert ngettext(*week, 0, "en") == "a hotspot for the last {n} weeks"
    assert format_month(date(2026, 12, 1), "pl") == "gru 2026"
    assert format_date(date(2026, 12, 7), "en") == "Dec 7, 2026"
    assert format_date(date(2026, 12, 7), "fi") == "7.12.2026"


def test_the_library_has_no_other_language_table():
    """No dict keyed by three or more of the languages outside koban_geo/store/i18n.py: translations are in
    the catalogues, and the language list has one owner."""
    import ast

    from koban_geo.store.i18n import LANGUAGES

    found = []
    for path in (ROOT / "koban_geo").rglob("*.py"):
        if path.name == "i18n.py" and path.parent.name == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if len(keys & set(LANGUAGES)) >= 3:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Tuple) and len({e.value for e in node.elts if isinstance(e, ast.Constant)}
                                                   & set(LANGUAGES)) >= 5:  # fmt: skip
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
    assert not (ROOT / "data" / "meeting_pack_i18n.json").exists()
    assert not (ROOT / "data" / "precision_note.json").exists()
