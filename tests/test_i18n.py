"""Every UI string exists in every language, with the same placeholders; the template matches the code."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ui.i18n import LANGS, LOCALES, translate

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
        translated = translate(message.id, lang)
        if sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(translated)):
            wrong.append((message.id, translated))
    assert wrong == []


def test_an_unknown_language_falls_back_to_english():
    assert translate("Log in", "xx") == "Log in"
    assert translate("A string nobody wrote", "fi") == "A string nobody wrote"
