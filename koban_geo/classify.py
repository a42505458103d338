"""Theme classifier for residents' free-text reports in seven languages.

A report such as "candeeiro da rua apagado há duas semanas" gets a theme code from data/themes.csv, a
confidence, and the language it is written in. Two small character n-gram models do the work: TF-IDF over
accent-folded ``char_wb`` 2-5-grams with a calibrated linear SVM for the theme (chosen by grouped
cross-validation on the training set, see bench/classifier.py), and a naive Bayes model over 1-4-grams
for the language. Character n-grams cope with misspellings, missing accents and compound words, and need
no per-language tokeniser.

The models are trained at first use from data/classifier/train.csv (a few seconds) and cached for the
life of the process. scikit-learn is imported only then, so importing this module, and starting the CLI,
stays cheap; nothing is pickled or downloaded.

An uncertain answer is not silently passed on: below ``LOW_CONFIDENCE`` the theme becomes "other",
``flagged`` is set and the model's guess is kept in ``best_guess`` for a person to review.

>>> [p.theme for p in classify_texts(["Ktoś ukradł mi rower spod bloku w nocy"])]  # doctest: +SKIP
['theft']
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from koban_geo.resources import data_dir

LANGUAGES = ("en", "nl", "fr", "pl", "fi", "es", "pt")
UNDETERMINED = "und"  # ISO 639-2 code for "undetermined"
FALLBACK_THEME = "other"

# Below this the top guess of the theme model was right less than half the time in out-of-fold
# predictions on train.csv (bench/classifier.py prints the calibration table it was read from).
LOW_CONFIDENCE = 0.35
# Share of a text's letter trigrams that occur somewhere in the training reports. Held-out reports score
# 0.87 or more in 99 cases out of 100; keyboard mashing ("asdf qwer") or a language the model was not
# trained on scores lower and gets confidence 0.
MIN_COVERAGE = 0.8
# A text needs at least this many words of two or more letters to be classified at all.
MIN_WORDS = 2
# Below this probability the language is reported as "und"; held-out reports score 0.97 or more in 99
# cases out of 100, one-word or mixed inputs often less.
LANGUAGE_CONFIDENCE = 0.9
RANDOM_STATE = 0
_BATCH = 256


@dataclass(frozen=True)
class Prediction:
    """One classified report.

    ``confidence`` is the model's probability for ``best_guess``, or 0.0 when the text is too short or too
    unfamiliar to classify. ``flagged`` is exactly ``confidence < LOW_CONFIDENCE``; a flagged report has
    theme "other" so that nothing uncertain lands on a map layer by itself.
    """

    theme: str
    confidence: float
    language: str
    flagged: bool
    best_guess: str


_NOTHING_TO_CLASSIFY = Prediction(FALLBACK_THEME, 0.0, UNDETERMINED, True, FALLBACK_THEME)


class Example(NamedTuple):
    """One labelled report of data/classifier/*.csv."""

    text: str
    theme: str
    language: str


def examples_path(split: str = "train") -> Path:
    """Where the labelled reports of a split ("train" or "test") are kept."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}: expected 'train' or 'test'")
    return data_dir() / "classifier" / f"{split}.csv"


def load_examples(path: Path | None = None) -> list[Example]:
    """The labelled reports of a CSV with columns text, theme, language (further columns are ignored)."""
    with (path or examples_path("train")).open(encoding="utf-8", newline="") as fh:
        return [Example(row["text"], row["theme"], row["language"]) for row in csv.DictReader(fh)]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    """Runs of letters, case- and accent-folded ("Één" and "een" are one word)."""
    return re.findall(r"[^\W\d_]+", _fold(text))


def _trigrams(words: Iterable[str]) -> set[str]:
    grams: set[str] = set()
    for word in words:
        padded = f" {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def theme_pipeline() -> Any:
    """The unfitted theme model: accent-folded char_wb 2-5-gram TF-IDF + sigmoid-calibrated LinearSVC."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, strip_accents="unicode"),
        CalibratedClassifierCV(
            LinearSVC(C=1.0, max_iter=10_000, random_state=RANDOM_STATE), method="sigmoid", cv=3
        ),
    )


def language_pipeline() -> Any:
    """The unfitted language model: char_wb 1-4-gram TF-IDF (accents kept: they tell languages apart) + NB."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
        MultinomialNB(alpha=0.05),
    )


class ThemeClassifier:
    """The fitted theme and language models plus the trigram vocabulary used to spot unfamiliar text."""

    def __init__(self, theme_model: Any, language_model: Any, trigrams: frozenset[str]) -> None:
        self._theme = theme_model
        self._language = language_model
        self._trigrams = trigrams

    @classmethod
    def fit(cls, examples: Sequence[Example]) -> ThemeClassifier:
        """Train both models on labelled reports; every theme must be a code of data/themes.csv."""
        from threadpoolctl import threadpool_limits  # installed with scikit-learn

        from koban_geo.taxonomy import theme_codes

        unknown_themes = sorted({e.theme for e in examples} - set(theme_codes()))
        unknown_languages = sorted({e.language for e in examples} - set(LANGUAGES))
        if unknown_themes or unknown_languages:
            raise ValueError(f"unknown labels: themes {unknown_themes}, languages {unknown_languages}")
        texts = [e.text for e in examples]
        # The sigmoid calibration solves 45 two-parameter problems; multi-threaded BLAS makes each of those
        # tiny calls several times slower (8 s instead of 1 s on a busy 2-core machine), so use one thread.
        with threadpool_limits(limits=1):
            theme_model = theme_pipeline().fit(texts, [e.theme for e in examples])
            language_model = language_pipeline().fit(texts, [e.language for e in examples])
        trigrams = frozenset(_trigrams(w for text in texts for w in _words(text)))
        return cls(theme_model, language_model, trigrams)

    def predict(self, texts: Sequence[str | None]) -> list[Prediction]:
        """Classify reports; None and blank texts come back flagged with language "und"."""
        cleaned = [" ".join((t or "").split()) for t in texts]
        out = [_NOTHING_TO_CLASSIFY] * len(cleaned)
        todo = [i for i, t in enumerate(cleaned) if any(c.isalpha() for c in t)]
        if todo:
            batch = [cleaned[i] for i in todo]
            theme_p = self._theme.predict_proba(batch)
            language_p = self._language.predict_proba(batch)
            theme_classes = self._theme.classes_
            language_classes = self._language.classes_
            for row, i in enumerate(todo):
                words = [w for w in _words(cleaned[i]) if len(w) >= 2]
                grams = _trigrams(words)
                coverage = len(grams & self._trigrams) / len(grams) if grams else 0.0
                readable = len(words) >= MIN_WORDS and coverage >= MIN_COVERAGE
                best = int(theme_p[row].argmax())
                confidence = float(theme_p[row, best]) if readable else 0.0
                lang = int(language_p[row].argmax())
                language = (
                    str(language_classes[lang])
                    if coverage >= MIN_COVERAGE and language_p[row, lang] >= LANGUAGE_CONFIDENCE
                    else UNDETERMINED
                )
                flagged = confidence < LOW_CONFIDENCE
                guess = str(theme_classes[best])
                out[i] = Prediction(
                    FALLBACK_THEME if flagged else guess, confidence, language, flagged, guess
                )
        return out


@cache
def default_classifier() -> ThemeClassifier:
    """The classifier trained on data/classifier/train.csv, built once per process at first use."""
    return ThemeClassifier.fit(load_examples(examples_path("train")))


def classify_texts(texts: Sequence[str | None]) -> list[Prediction]:
    """Theme, confidence and language of each report, in input order (see `Prediction`)."""
    if not texts:
        return []
    return default_classifier().predict(texts)


def classify_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One JSON-ready dict per input line, for ``koban-geo classify [FILE|-] --json``.

    Lines are read and classified in batches, so a long stream is not held in memory.
    """
    iterator = iter(lines)
    while batch := [line.rstrip("\r\n") for line in islice(iterator, _BATCH)]:
        for p in classify_texts(batch):
            yield {
                "theme": p.theme,
                "confidence": p.confidence,
                "language": p.language,
                "flagged": p.flagged,
            }
