"""Extract every user-facing string (library and dashboard) and merge them into every language's catalogue.

    python tools/i18n.py          # update koban_geo/locales/messages.pot and nl/fr/pl/fi/es/pt .po files
    python tools/i18n.py --check  # exit 1 if a string lacks a translation (what tests/test_i18n.py asserts)

Strings come from `_`, `N_`, `gettext`, `pgettext` and `ngettext` calls under koban_geo/ and dashboard/, and
the theme labels of data/themes.csv (column label_en, context "theme").

New strings arrive with an empty translation; fill them in the .po files (any PO editor, e.g. Poedit).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's koban_geo, whatever is installed

from koban_geo.store.i18n import LANGUAGES, LOCALES, SOURCE_LANGUAGE  # noqa: E402

SOURCES = ("koban_geo", "dashboard")
LANGS = tuple(lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE)
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}


def extract() -> Catalog:
    """Every translatable string under koban_geo/ and dashboard/ (Python files) and data/themes.csv."""
    template = Catalog(project="KOBAN Geo", charset="utf-8")
    method_map = [("**/locales/**", "ignore"), ("**.py", "python")]
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT / source),
            method_map,
            keywords=KEYWORDS,
            comment_tags=("i18n:",),
            strip_comment_tags=True,
        ):
            template.add(
                message, None, [(f"{source}/{filename}", lineno)], auto_comments=comments, context=context
            )
    with (ROOT / "data" / "themes.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            template.add(row["label_en"], None, [("data/themes.csv", 0)], context="theme")
    for message in template:  # we format with str.format: "90 % confidence" is not a %-format (msgfmt -c)
        message.flags.discard("python-format")
    return template


def _done(string: str | tuple[str, ...]) -> bool:
    """A translation is there: a string, or every plural form of a counted message."""
    return all(string) if isinstance(string, tuple) else bool(string)


def missing(template: Catalog) -> dict[str, list[str]]:
    """Language -> msgids with no (or a fuzzy) translation."""
    out: dict[str, list[str]] = {}
    for lang in LANGS:
        path = LOCALES / f"{lang}.po"
        known: dict[str, str] = {}
        if path.is_file():
            with path.open("rb") as handle:
                cat = read_po(handle, locale=lang)
            known = {(m.context, m.id): m.string for m in cat if m.id and _done(m.string) and not m.fuzzy}
        gaps = [m.id for m in template if m.id and not known.get((m.context, m.id))]
        if gaps:
            out[lang] = gaps
    return out


def update(template: Catalog) -> None:
    LOCALES.mkdir(parents=True, exist_ok=True)
    with (LOCALES / "messages.pot").open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True, no_location=True)
    for lang in LANGS:
        path = LOCALES / f"{lang}.po"
        if path.is_file():
            with path.open("rb") as handle:
                cat = read_po(handle, locale=lang)
        else:
            cat = Catalog(locale=lang, project="KOBAN Geo", charset="utf-8")
        cat.update(template, no_fuzzy_matching=True)
        for message in cat:
            message.flags.discard("python-format")
        with path.open("wb") as handle:
            write_po(handle, cat, omit_header=False, sort_output=True, no_location=True, ignore_obsolete=True)


def main(argv: list[str]) -> int:
    template = extract()
    if "--check" in argv:
        gaps = missing(template)
        for lang, ids in gaps.items():
            print(f"{lang}: {len(ids)} missing, e.g. {ids[0]!r}")
        return 1 if gaps else 0
    update(template)
    print(f"{len(template)} strings; catalogues in {LOCALES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
