"""The theme taxonomy (data/themes.csv) and the editable mapping from source labels to theme codes.

The one owner of theme labels: data/themes.csv holds each theme's English label, the catalogues
(koban_geo/locales, context "theme") its translations; `Theme.labels` and `theme_label` read both.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache

import duckdb

from koban_geo.store.i18n import LANGUAGES, LOCALES, pgettext
from koban_geo.store.resources import data_dir
from koban_geo.store.sql import meta_get, meta_set, transaction

__all__ = [
    "LANGUAGES",
    "Theme",
    "seed_taxonomy",
    "sensitive_codes",
    "set_mapping",
    "theme_codes",
    "theme_label",
    "themes",
]


@dataclass(frozen=True)
class Theme:
    code: str
    family: str
    sensitive: bool
    labels: Mapping[str, str]  # language -> label


def normalise_label(label: str) -> str:
    """How labels are compared: lower case, trimmed, inner white space folded."""
    return re.sub(r"\s+", " ", label.strip()).casefold()


class _Labels(Mapping[str, str]):
    """A theme's label in every language: the English of data/themes.csv, translated by the catalogues when
    asked (so listing the themes, e.g. on every store open, parses no catalogue)."""

    def __init__(self, english: str) -> None:
        self._english = english

    def __getitem__(self, lang: str) -> str:
        if lang not in LANGUAGES:
            raise KeyError(lang)
        return pgettext("theme", self._english, lang)

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def __repr__(self) -> str:
        return f"_Labels({self._english!r})"


def _labels(english: str) -> Mapping[str, str]:
    return _Labels(english)


@cache
def themes() -> tuple[Theme, ...]:
    with (data_dir() / "themes.csv").open(encoding="utf-8", newline="") as fh:
        return tuple(
            Theme(
                code=row["code"],
                family=row["family"],
                sensitive=row["sensitive"] == "true",
                labels=_labels(row["label_en"]),
            )
            for row in csv.DictReader(fh)
        )


def theme_label(code: str, lang: str) -> str:
    """A theme's label in `lang` (English where the catalogue has none; the code itself when unknown)."""
    for theme in themes():
        if theme.code == code:
            return theme.labels.get(lang) or theme.labels["en"]
    return code


def theme_codes() -> tuple[str, ...]:
    return tuple(t.code for t in themes())


def sensitive_codes() -> frozenset[str]:
    return frozenset(t.code for t in themes() if t.sensitive)


def _bundled_mapping() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for theme in themes():
        for label in theme.labels.values():
            mapping.setdefault(normalise_label(label), theme.code)
    with (data_dir() / "theme_mapping.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            mapping[normalise_label(row["label"])] = row["theme"]
    return mapping


def _bundle_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("themes.csv", "theme_mapping.csv"):
        digest.update((data_dir() / name).read_bytes())
    for path in sorted(
        LOCALES.glob("*.po")
    ):  # the translated labels live in the catalogues: a new one re-seeds
        digest.update(path.read_bytes())
    return digest.hexdigest()


def seed_taxonomy(con: duckdb.DuckDBPyConnection) -> bool:
    """Load the bundled themes and mapping when they changed; user mappings are kept. True if it wrote."""
    fingerprint = _bundle_fingerprint()
    if meta_get(con, "taxonomy_sha256") == fingerprint:
        return False
    codes = set(theme_codes())
    mapping = _bundled_mapping()
    unknown = sorted({code for code in mapping.values() if code not in codes})
    if unknown:
        raise ValueError(f"data/theme_mapping.csv maps to unknown theme codes: {', '.join(unknown)}")
    with transaction(con):
        for t in themes():
            con.execute(
                "INSERT OR REPLACE INTO themes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [t.code, t.family, t.sensitive, *(t.labels[lang] for lang in LANGUAGES)],
            )
        con.execute("DELETE FROM theme_mapping WHERE origin = 'bundled'")
        con.executemany(
            "INSERT INTO theme_mapping (label, theme, origin) VALUES (?, ?, 'bundled') ON CONFLICT DO NOTHING",
            [[label, code] for label, code in sorted(mapping.items())],
        )
        meta_set(con, "taxonomy_sha256", fingerprint)
    return True


def set_mapping(con: duckdb.DuckDBPyConnection, label: str, theme: str) -> None:
    """Map a source label (or 'open311:<service_code>') to a theme code; user mappings win over bundled ones."""
    if theme not in theme_codes():
        raise ValueError(f"unknown theme code {theme!r}; codes: {', '.join(theme_codes())}")
    con.execute(
        "INSERT INTO theme_mapping (label, theme, origin) VALUES (?, ?, 'user') "
        "ON CONFLICT (label) DO UPDATE SET theme = excluded.theme, origin = 'user'",
        [normalise_label(label), theme],
    )


@cache
def policeuk_themes() -> dict[str, str]:
    with (data_dir() / "policeuk_themes.csv").open(encoding="utf-8", newline="") as fh:
        return {row["crime_type"]: row["theme"] for row in csv.DictReader(fh)}
