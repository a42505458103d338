"""Theme classifier for residents' free-text reports in seven languages.

A report such as "candeeiro da rua apagado há duas semanas" gets a theme code from data/themes.csv, a
confidence, and the language it is written in.

The theme model is one calibrated linear SVM over two blocks of features:

- a curated multilingual lexicon (data/classifier/lexicon.json): for each theme, the words residents use
  for it in each of the seven languages, as accent-folded stems ("halas" for hałas, hałasu, hałasować;
  "varastet" for varastettiin, varastettu). Each theme gives one feature, log(1 + number of hits) in the
  text, whatever the language, so "lawaai", "bruit" and "melu" all feed the same noise feature and what
  the model learns about one language carries over to the others and to situations it has never seen;
- TF-IDF over accent-folded ``char_wb`` 2-5-grams, which copes with misspellings, missing accents and
  compound words and picks up what the lexicon lacks.

The lexicon block is scaled by ``LEXICON_WEIGHT``; weight and model were chosen by cross-validation on the
training set whose folds keep each situation on one side (bench/classifier.py). A naive Bayes model over
character 1-4-grams tells the language.

The models are trained at first use from data/classifier/train.csv (about a second) and cached for the
life of the process. scikit-learn is imported only then, so importing this module, and starting the CLI,
stays cheap; nothing is pickled or downloaded.

An uncertain answer is not silently passed on: below ``LOW_CONFIDENCE`` the theme becomes "other",
``flagged`` is set and the model's guess is kept in ``best_guess`` for a person to review.

>>> [p.theme for p in classify_texts(["Ktoś ukradł mi rower spod bloku w nocy"])]  # doctest: +SKIP
['theft']
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from koban_geo.store.i18n import LANGUAGES  # reports are classified in the store's seven languages
from koban_geo.store.resources import data_dir

UNDETERMINED = "und"  # ISO 639-2 code for "undetermined"
FALLBACK_THEME = "other"

# Below this the top guess of the theme model is right less than half the time in out-of-fold predictions
# on train.csv (grouped by situation): the calibration table, and the share of predictions below it, are in
# bench/results/classifier.md (`python bench/classifier.py`; 7 % flagged, right 44 % of the time, in the run
# on the 2,291 training reports).
LOW_CONFIDENCE = 0.5
# Scale of the lexicon features against the (L2-normalised) character n-gram block; chosen by grouped
# cross-validation on train.csv (bench/classifier.py).
LEXICON_WEIGHT = 0.25
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


# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ı": "i", "æ": "ae", "œ": "oe", "ß": "ss"})


def _lexicon_words(text: str) -> list[str]:
    """Runs of letters or of digits, folded as the lexicon is written: lower case, no accents, ł as l."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_UNDECOMPOSED))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.findall(r"[^\W\d_]+|\d+", folded)


def lexicon_path() -> Path:
    """The curated theme vocabulary: data/classifier/lexicon.json."""
    return data_dir() / "classifier" / "lexicon.json"


@cache
def load_lexicon() -> dict[str, dict[str, tuple[str, ...]]]:
    """Theme code -> language -> entries of data/classifier/lexicon.json (syntax: see that file)."""
    with lexicon_path().open(encoding="utf-8") as fh:
        themes = json.load(fh)["themes"]
    return {
        theme: {lang: tuple(entries) for lang, entries in by_lang.items()}
        for theme, by_lang in themes.items()
    }


_ANY = "[^ ]*"  # the rest (or the start) of a word: text is matched as space-separated folded words


def _entry_atoms(entry: str) -> tuple[str, ...]:
    """One lexicon entry as a sequence of regular-expression atoms (single letters, " " and ``_ANY``)."""
    atoms: list[str] = []
    for token in entry.split():
        mode, token = (token[0], token[1:]) if token[0] in "=*" else ("", token)
        for i, word in enumerate(_lexicon_words(token)):
            if atoms:
                atoms.append(" ")
            if mode == "*" and i == 0:
                atoms.append(_ANY)
            atoms.extend(re.escape(c) for c in word)
            if mode != "=":
                atoms.append(_ANY)
    if not atoms:
        raise ValueError(f"lexicon entry without letters or digits: {entry!r}")
    return tuple(atoms)


def _trie_pattern(entries: Iterable[tuple[str, ...]]) -> str:
    """An alternation of the entries, factored as a trie so that matching does not try them one by one."""
    root: dict[str, Any] = {}
    for atoms in entries:
        node = root
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        branches = [atom + pattern(child) for atom, child in sorted(node.items()) if atom]
        if not branches:
            return ""
        if len(branches) == 1 and "" not in node:
            return branches[0]
        return "(?:" + "|".join(branches) + ")" + ("?" if "" in node else "")

    return pattern(root)


@cache
def _lexicon_matchers() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """One compiled pattern per theme, in the order of data/themes.csv, matching any of its entries."""
    from koban_geo.store.taxonomy import theme_codes

    lexicon = load_lexicon()
    codes = theme_codes()
    if set(lexicon) != set(codes):
        raise ValueError(f"lexicon themes {sorted(lexicon)} differ from data/themes.csv {sorted(codes)}")
    matchers = []
    for code in codes:
        atoms = {_entry_atoms(e) for entries in lexicon[code].values() for e in entries}
        matchers.append((code, re.compile(f"(?<![^ ])(?:{_trie_pattern(atoms)})(?![^ ])")))
    return tuple(matchers)


def lexicon_counts(texts: Iterable[str]) -> Any:
    """Number of lexicon hits per theme (columns in the order of data/themes.csv) for each text."""
    import numpy as np

    matchers = _lexicon_matchers()
    rows = []
    for text in texts:
        words = " ".join(_lexicon_words(text))
        rows.append([len(pattern.findall(words)) for _, pattern in matchers])
    return np.array(rows, dtype=float).reshape(-1, len(matchers))


def lexicon_features(texts: Iterable[str], weight: float = LEXICON_WEIGHT) -> Any:
    """The lexicon block of the theme model: weight * log(1 + hits) per theme."""
    import numpy as np

    return weight * np.log1p(lexicon_counts(texts))


def theme_pipeline(lexicon_weight: float | None = LEXICON_WEIGHT, char_ngrams: bool = True) -> Any:
    """The unfitted theme model: lexicon features and/or accent-folded char_wb 2-5-gram TF-IDF, then a
    sigmoid-calibrated LinearSVC. ``lexicon_weight=None`` leaves the lexicon out (the model before it)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import LinearSVC

    blocks = []
    if char_ngrams:
        blocks.append(
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, strip_accents="unicode"
            )
        )
    if lexicon_weight is not None:
        blocks.append(FunctionTransformer(lexicon_features, kw_args={"weight": lexicon_weight}))
    if not blocks:
        raise ValueError("the theme model needs the lexicon, the character n-grams or both")
    return make_pipeline(
        blocks[0] if len(blocks) == 1 else make_union(*blocks),
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

        from koban_geo.store.taxonomy import theme_codes

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
