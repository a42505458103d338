"""The report theme classifier, with the real model trained from data/classifier/train.csv (no mocks)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koban_geo.ingest.classify import (
    FALLBACK_THEME,
    LANGUAGES,
    LOW_CONFIDENCE,
    UNDETERMINED,
    Prediction,
    ThemeClassifier,
    classify_lines,
    classify_texts,
    examples_path,
    lexicon_counts,
    load_examples,
    load_lexicon,
)
from koban_geo.store import taxonomy

# Reports written for these tests only (in neither split), each plainly about one theme.
OBVIOUS = [
    ("my bike was stolen outside the gym last night", "theft", "en"),
    ("the street light outside our house has been broken for weeks", "lighting", "en"),
    ("someone broke into our house through the back door and took the laptop", "burglary", "en"),
    ("lantaarnpaal bij de school is al weken kapot, het is aardedonker", "lighting", "nl"),
    ("er is ingebroken in ons huis, de achterdeur was geforceerd", "burglary", "nl"),
    ("iemand heeft een oude bank en vuilniszakken in de sloot gedumpt", "litter", "nl"),
    ("on m'a volé mon vélo devant la gare hier soir", "theft", "fr"),
    ("le lampadaire de notre rue ne s'allume plus depuis une semaine", "lighting", "fr"),
    ("des tags partout sur les murs de l'école", "vandalism", "fr"),
    ("Ktoś znowu wyrzucił gruz i stare meble pod lasem", "litter", "pl"),
    ("włamanie do mieszkania, wyważone drzwi i zginęła biżuteria", "burglary", "pl"),
    ("latarnia przy przystanku nie świeci od tygodnia", "lighting", "pl"),
    ("pyöräni varastettiin kaupan edestä vaikka se oli lukossa", "theft", "fi"),
    ("katuvalo on ollut rikki jo kaksi viikkoa", "lighting", "fi"),
    ("naapurin koira haukkuu koko yön eikä kukaan saa nukuttua", "noise", "fi"),
    ("Los coches aparcan en el paso de peatones y encima de la acera", "parking", "es"),
    ("entraron a robar en casa y forzaron la puerta", "burglary", "es"),
    ("la farola de la esquina lleva semanas apagada", "lighting", "es"),
    ("candeeiro da rua apagado há duas semanas", "lighting", "pt"),
    ("roubaram-me a bicicleta à porta da escola", "theft", "pt"),
    ("pintaram grafitos em toda a parede do centro de saúde", "vandalism", "pt"),
    # Words the training reports never use for their theme: only the lexicon knows them.
    ("the lamppost on the corner is flickering on and off", "lighting", "en"),
    ("sąsiedzi hałasują do rana, nie da się zasnąć", "noise", "pl"),
    ("talon pyöräkellarista on viety kolme pyörää, varastettiin yöllä", "theft", "fi"),
    ("hay un camello vendiendo en el parque por las tardes", "drugs", "es"),
    ("er wordt gedeald bij het winkelcentrum", "drugs", "nl"),
]


def test_obvious_reports_in_every_language() -> None:
    predictions = classify_texts([text for text, _, _ in OBVIOUS])
    wrong = [
        (text, theme, p.best_guess)
        for (text, theme, _), p in zip(OBVIOUS, predictions, strict=True)
        if p.best_guess != theme
    ]
    assert not wrong, wrong
    assert [p.language for p in predictions] == [language for _, _, language in OBVIOUS]


def test_lexicon_loads_with_entries_for_every_theme_and_language() -> None:
    lexicon = load_lexicon()
    assert set(lexicon) == set(taxonomy.theme_codes())
    for theme, by_language in lexicon.items():
        assert set(by_language) == set(LANGUAGES), theme
        for language, entries in by_language.items():
            assert len(entries) >= 20, (theme, language)
            assert len(set(entries)) == len(entries), (theme, language, "duplicate entries")
            for entry in entries:
                # Written accent-folded and lower case, as texts are matched (Polish ł as l).
                assert entry == entry.strip() and entry.isascii() and entry == entry.lower(), entry
                assert any(c.isalnum() for c in entry), entry


def test_lexicon_matches_stems_inflections_and_compounds() -> None:
    counts = lexicon_counts(
        [
            "Hałasu nie da się wytrzymać",  # "halas" is a stem; ł and accents are folded
            "straatlantaarn kapot",  # "*lantaarn" matches inside a compound
            "le vol de mon vélo",  # "=vol" is the whole word only ...
            "le volume est trop fort",  # ... so "volume" is no theft
            "",
        ]
    )
    column = {code: i for i, code in enumerate(taxonomy.theme_codes())}
    assert counts.shape == (5, len(column))
    assert counts[0, column["noise"]] >= 1
    assert counts[1, column["lighting"]] >= 1
    assert counts[2, column["theft"]] >= 1
    assert counts[3, column["theft"]] == 0
    assert not counts[4].any()


def test_prediction_fields_and_invariants() -> None:
    codes = set(taxonomy.theme_codes())
    for p in classify_texts([text for text, _, _ in OBVIOUS] + ["asdf qwer", "", None]):
        assert isinstance(p, Prediction)
        assert 0.0 <= p.confidence <= 1.0
        assert p.flagged == (p.confidence < LOW_CONFIDENCE)
        assert p.theme == (FALLBACK_THEME if p.flagged else p.best_guess)
        assert p.best_guess in codes and p.theme in codes
        assert p.language in (*LANGUAGES, UNDETERMINED)


@pytest.mark.parametrize("text", ["asdf qwer", "ok", "qwertyuiop asdfgh", "graffiti"])
def test_low_confidence_input_is_flagged_as_other(text: str) -> None:
    (p,) = classify_texts([text])
    assert p.flagged
    assert p.theme == "other"
    assert p.best_guess in taxonomy.theme_codes()
    assert p.confidence < LOW_CONFIDENCE


@pytest.mark.parametrize("text", [None, "", "   \t ", "1234", "???", "!!! 112"])
def test_empty_or_letterless_input(text: str | None) -> None:
    assert classify_texts([text]) == [Prediction("other", 0.0, UNDETERMINED, True, "other")]


def test_no_texts_no_predictions() -> None:
    assert classify_texts([]) == []


def test_classify_lines_json_shape() -> None:
    lines = iter(
        ["Cars racing down our road at night\n", "\n", "asdf qwer\r\n", "graffiti op de muur van de kerk"]
    )
    records = list(classify_lines(lines))
    assert len(records) == 4
    for record in records:
        assert set(record) == {"theme", "confidence", "language", "flagged"}
        assert isinstance(record["theme"], str) and isinstance(record["language"], str)
        assert isinstance(record["confidence"], float) and isinstance(record["flagged"], bool)
        assert json.loads(json.dumps(record)) == record
    assert records[1] == {"theme": "other", "confidence": 0.0, "language": "und", "flagged": True}
    assert records[2]["flagged"] and records[2]["theme"] == "other"
    assert records[0]["language"] == "en" and records[3]["language"] == "nl"


def test_classify_lines_batches_long_input() -> None:
    lines = [text for text, _, _ in OBVIOUS] * 20  # more than one internal batch
    expected = classify_texts(lines)
    records = list(classify_lines(lines))
    assert [r["theme"] for r in records] == [p.theme for p in expected]


def test_deterministic_across_runs_and_fits() -> None:
    texts = [text for text, _, _ in OBVIOUS] + ["asdf qwer", "Iemand schreeuwt elke nacht op straat"]
    first = classify_texts(texts)
    assert classify_texts(texts) == first
    refitted = ThemeClassifier.fit(load_examples(examples_path("train"))).predict(texts)
    assert refitted == first


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=80)), max_size=5))
def test_any_text_gets_a_valid_prediction(texts: list[str | None]) -> None:
    predictions = classify_texts(texts)
    assert len(predictions) == len(texts)
    for p in predictions:
        assert p.flagged == (p.confidence < LOW_CONFIDENCE)
        assert p.theme == (FALLBACK_THEME if p.flagged else p.best_guess)


def test_import_does_not_load_scikit_learn() -> None:
    code = "import sys, koban_geo.ingest.classify; sys.exit('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_languages_match_the_taxonomy() -> None:
    assert LANGUAGES == taxonomy.LANGUAGES


def _rows(split: str) -> list[dict[str, str]]:
    with examples_path(split).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def test_splits_share_no_text_and_no_situation() -> None:
    train, test = _rows("train"), _rows("test")
    train_texts, test_texts = (
        Counter(_norm(r["text"]) for r in train),
        Counter(_norm(r["text"]) for r in test),
    )
    assert max(train_texts.values()) == 1 and max(test_texts.values()) == 1
    assert not set(train_texts) & set(test_texts)
    assert not {r["concept"] for r in train} & {r["concept"] for r in test}


def test_every_theme_and_language_pair_is_in_both_splits() -> None:
    pairs = {(code, lang) for code in taxonomy.theme_codes() for lang in LANGUAGES}
    for split in ("train", "test"):
        rows = _rows(split)
        assert {(r["theme"], r["language"]) for r in rows} == pairs, split
