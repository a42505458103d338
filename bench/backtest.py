"""Held-out backtest of the hotspot `model` against `count` and `kde` on the demo; writes bench/results/backtest.md.

    python bench/backtest.py                                # demo seed 7 + 8 more crime seeds + 5 concern seeds
    python bench/backtest.py --seeds 0 --concern-seeds 0    # the demo seed only (about 20 s)

Two data sets, both made by koban_geo.ops.demo (synthetic, with planted persistent / emerging / fading
patterns, over 1.7 km² of central Helsinki, 18 months 2025-05 .. 2026-10):
  crime     the 18 monthly police.uk street-level CSVs, read from the files (`run_backtest`, no store);
  concerns  the residents' concerns after ingestion into a demo store (`backtest_store`, by month).
Held-out splits: train on months 1-15 and test on 16-18 together; and rolling origins, each of months 13..18
predicted from all the months before it (month 18 from 1-17 is the headline split). Months 7..12, predicted
the same way, are reported apart: the rule that chooses the model was compared with looser rules on them, so
they are not clean held-out months. The model is chosen on training months only; test months are scored
once. "Hindsight" scores each single change from `count` on the test months too, to show what would have
won; it takes no part in choosing. Other seeds of the same generator give independent draws of the same
process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import _common
import numpy as np

from koban_geo.analysis.backtest import (
    COUNT_PARAMS,
    DEFAULT_COVERAGE,
    KDE_PARAMS,
    SEARCH,
    Events,
    backtest_events,
    concern_events,
    read_policeuk,
    run_backtest,
)
from koban_geo.ops.demo import MONTHS, REFERENCE_DAY, build_demo, write_demo_inputs
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "backtest.md"
DEMO_SEED = 7  # the seed `koban-geo demo` uses
CELLS = (100, 250)
KINDS = ("crime", "concerns")
Split = tuple[str, int, int]  # (name, first test month index, end)
HEADLINE: tuple[Split, ...] = (("1-17 → 18", 17, 18), ("1-15 → 16-18", 15, 18))
ROLLING: tuple[Split, ...] = tuple((MONTHS[t], t, t + 1) for t in range(12, 18))  # 2026-10 is 1-17 → 18
DEV: tuple[Split, ...] = tuple((MONTHS[t], t, t + 1) for t in range(6, 12))
SCOPES = {"held-out months 13-18": ROLLING + HEADLINE[1:], "months 7-12 (rules compared)": DEV}
HINDSIGHT = tuple(
    p
    for p in (replace(COUNT_PARAMS, **{name: v}) for name, values in SEARCH.items() for v in values)
    if p not in (COUNT_PARAMS, KDE_PARAMS)
)
PACKAGES = ("numpy", "scipy", "duckdb", "pyproj", "shapely")
PCT = {c: f"{c * 100:g} %" for c in DEFAULT_COVERAGE}
Results = dict[tuple[str, int, int, int, int], dict[str, Any]]  # (kind, seed, cell, start, end)


def crime_events(root: Path, seed: int) -> tuple[Events, tuple[Path, ...]]:
    files = write_demo_inputs(root / f"crime-{seed}", seed, REFERENCE_DAY).crime
    return read_policeuk(files), files


def concerns(root: Path, seed: int) -> Events:
    work = root / f"store-{seed}"
    work.mkdir(parents=True)
    db = work / "koban.duckdb"
    con = connect(db)
    try:
        build_demo(con, Settings(db=db), work / "inputs", seed, REFERENCE_DAY)
        return concern_events(con, MONTHS)
    finally:
        con.close()


def split(events: Events, start: int, end: int, cell: int) -> dict[str, Any]:
    months = np.array(MONTHS, dtype="datetime64[M]")
    train = events.select(events.month < months[start])
    test = events.select((events.month >= months[start]) & (events.month <= months[end - 1]))
    return backtest_events(train, test, cell=cell, also=HINDSIGHT)


def hits(result: dict[str, Any], method: str) -> np.ndarray:
    rows = result["hindsight"][method] if method not in result["methods"] else result["methods"][method]
    return np.array([r["hits"] for r in rows])


def fallback(result: dict[str, Any]) -> str:
    """The baseline the model fell back to (chosen on validation): "count" or "kde"."""
    return str(result["model"].get("validation", {}).get("fallback", "count"))


def margin(result: dict[str, Any], method: str = "model") -> np.ndarray:
    """Hits of `method` minus hits of the better baseline, per coverage, on the test months."""
    return hits(result, method) - np.maximum(hits(result, "count"), hits(result, "kde"))


def verdict(result: dict[str, Any]) -> str:
    below = margin(result) < 0
    if below.any():
        return "below at " + ", ".join(PCT[c] for c, b in zip(DEFAULT_COVERAGE, below, strict=True) if b)
    return "**better**" if (margin(result) > 0).any() else "tie"


def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": _common.machine(PACKAGES), "seeds": {}, "demo": {}}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="koban-backtest-") as tmp:
        root = Path(tmp)
        others = [s for s in range(1, 100) if s != DEMO_SEED]
        crime_seeds, concern_seeds = (
            [DEMO_SEED, *others[: args.seeds]],
            [DEMO_SEED, *others[: args.concern_seeds]],
        )
        data: dict[tuple[str, int], Events] = {}
        for seed in crime_seeds:
            events, files = crime_events(root, seed)
            data[("crime", seed)] = events
            if seed == DEMO_SEED:  # the file path itself, as `koban-geo backtest --format policeuk` runs it
                for cell in CELLS:
                    direct = run_backtest(files[:17], files[17:], cell=cell)
                    assert direct["methods"] == split(events, 17, 18, cell)["methods"]
        for seed in concern_seeds:
            data[("concerns", seed)] = concerns(root, seed)
    report["read_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    results: Results = {}
    for (kind, seed), events in data.items():
        for cell in CELLS:
            for _, start, end in HEADLINE + ROLLING + DEV:
                if (kind, seed, cell, start, end) not in results:  # 1-17 → 18 is also the last rolling origin
                    results[(kind, seed, cell, start, end)] = split(events, start, end, cell)
    report["backtest_seconds"] = round(time.perf_counter() - started, 1)
    report["results"] = results
    report["crime_seeds"], report["concern_seeds"] = crime_seeds, concern_seeds
    return report


# ---------------------------------------------------------------------------------------------------------
# The report


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _seeds(report: dict[str, Any], kind: str) -> list[int]:
    return list(report["crime_seeds"] if kind == "crime" else report["concern_seeds"])


def _cases(report: dict[str, Any], kind: str, cell: int, splits: tuple[Split, ...]) -> list[dict[str, Any]]:
    results = report["results"]
    return [results[(kind, s, cell, a, b)] for s in _seeds(report, kind) for _, a, b in splits]


def _tally(cases: list[dict[str, Any]]) -> dict[str, int]:
    """Counts of (run, coverage) cases where the model is better / ties / is below the better baseline, and
    what the two baselines alone would have scored against it."""
    t: dict[str, int] = defaultdict(int)
    for r in cases:
        m, f, c = margin(r), margin(r, fallback(r)), margin(r, "count")
        for i in range(len(m)):
            t["cases"] += 1
            t["better" if m[i] > 0 else "tie" if m[i] == 0 else "below"] += 1
            # below, and with other hits than its fallback: the model had left it
            t["below, departed"] += int(m[i] < 0 and m[i] != f[i])
            t["fallback below"] += int(f[i] < 0)
            t["count below"] += int(c[i] < 0)
    return t


def summary_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| months | data | cell | cases | model better | tie | below | below where it differs from its fallback "
        "| the fallback alone: below | `count` alone: below |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scope, splits in SCOPES.items():
        total: dict[str, int] = defaultdict(int)
        for kind in KINDS:
            for cell in CELLS:
                t = _tally(_cases(report, kind, cell, splits))
                for key, value in t.items():
                    total[key] += value
                lines.append(_summary_row(scope, kind, f"{cell} m", t))
        lines.append(_summary_row(f"**{scope}**", "**all**", "", total, bold=True))
    return lines


def _summary_row(scope: str, kind: str, cell: str, t: dict[str, int], bold: bool = False) -> str:
    b = "**" if bold else ""
    keys = ("cases", "better", "tie", "below", "below, departed", "fallback below", "count below")
    return f"| {scope} | {kind} | {cell} | " + " | ".join(f"{b}{t[k]}{b}" for k in keys) + " |"


def headline_tables(report: dict[str, Any]) -> list[str]:
    results = report["results"]
    lines: list[str] = []
    for i, c in enumerate(DEFAULT_COVERAGE):
        lines += [
            f"### Coverage {PCT[c]} of the cells",
            "",
            "| data | cell | train → test | k / cells | method | hits / N | hit rate | PAI | PEI* |",
            "| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |",
        ]
        for kind in KINDS:
            for cell in CELLS:
                for name, start, end in HEADLINE:
                    r = results[(kind, DEMO_SEED, cell, start, end)]
                    best = max(r["methods"][m][i]["hits"] for m in ("count", "kde"))
                    for method in ("model", "count", "kde"):
                        row = r["methods"][method][i]
                        mark = "**" if method == "model" and row["hits"] > best else ""
                        lines.append(
                            f"| {kind} | {cell} m | {name} | {row['cells']} / {r['grid']['cells']} | {method} | "
                            f"{mark}{row['hits']}{mark} / {r['test']['in_grid']} | {_f(row['hit_rate'])} | "
                            f"{_f(row['pai'], 2)} | {_f(row['pei_star'])} |"
                        )
        lines.append("")
    return lines


def choice_table(report: dict[str, Any]) -> list[str]:
    results = report["results"]
    lines = [
        "| data | cell | train → test | fallback | model chosen on training months | validation PEI* count / "
        "kde / model (1 %, 5 %, 10 %) |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    for kind in KINDS:
        for cell in CELLS:
            for name, start, end in HEADLINE:
                r = results[(kind, DEMO_SEED, cell, start, end)]
                v = r["model"].get("validation", {}).get("pei_star", {})
                pei = " / ".join(
                    ",".join(f"{x:.2f}" for x in v.get(k, [])) for k in ("count", "kde", "model")
                )
                lines.append(
                    f"| {kind} | {cell} m | {name} | `{fallback(r)}` | {r['model']['label']} | {pei} |"
                )
    _, start, end = HEADLINE[0]
    columns = [(kind, cell) for kind in KINDS for cell in CELLS]
    fallbacks = [fallback(results[(kind, DEMO_SEED, cell, start, end)]) for kind, cell in columns]
    lines += [
        "",
        "Every single change tried from the fallback in validation on the 1-17 → 18 split: extra hits at 1 / 5 / "
        "10 % summed over the six origins, and the worst margin (PEI* of the change minus PEI* of the fallback "
        "at one origin and one coverage). A change qualifies (✓) when its worst margin is ≥ 0, it gains "
        "somewhere, and pooled over the origins it reaches the better baseline at every coverage; ✔ marks the "
        "first change taken.",
        "",
        "| change | "
        + " | ".join(f"{k} {c} m (from `{f}`)" for (k, c), f in zip(columns, fallbacks, strict=True))
        + " |",
        "| --- |" + " ---: |" * len(columns),
    ]
    moves: dict[str, list[str]] = defaultdict(lambda: [""] * len(columns))
    for j, (kind, cell) in enumerate(columns):
        validation = results[(kind, DEMO_SEED, cell, start, end)]["model"]["validation"]
        for mv in validation["moves_from_fallback"]:
            mark = " ✔" if mv["accepted"] else " ✓" if mv["qualifies"] else ""
            extra = "/".join(f"{x:+d}" for x in mv["extra_hits"])
            moves[mv["label"]][j] = f"{extra}, worst {mv['worst_margin']:+.3f}{mark}"
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in moves.items()]
    return lines


def rolling_tables(report: dict[str, Any]) -> list[str]:
    results = report["results"]
    lines: list[str] = []
    for kind in KINDS:
        for cell in CELLS:
            lines += [
                f"**{kind}, {cell} m** (hits at 1 % / 5 % / 10 %)",
                "",
                "| test month | fallback | model chosen | model | count | kde | model vs the better baseline |",
                "| --- | --- | --- | --- | --- | --- | --- |",
            ]
            for name, start, end in ROLLING:
                r = results[(kind, DEMO_SEED, cell, start, end)]
                h = {m: " / ".join(str(x) for x in hits(r, m)) for m in ("model", "count", "kde")}
                lines.append(
                    f"| {name} | `{fallback(r)}` | {r['model']['label']} | {h['model']} | {h['count']} | "
                    f"{h['kde']} | {verdict(r)} |"
                )
            lines.append("")
    return lines


def robustness_table(report: dict[str, Any]) -> list[str]:
    splits = SCOPES["held-out months 13-18"]
    lines = [
        "| data | cell | seeds × splits | model ≥ both at every coverage | model > both somewhere | "
        "count ≥ kde at every coverage | mean extra hits vs count (1 / 5 / 10 %) | vs the better baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for kind in KINDS:
        for cell in CELLS:
            cases = _cases(report, kind, cell, splits)
            model = np.array([hits(r, "model") for r in cases])
            count = np.array([hits(r, "count") for r in cases])
            kde = np.array([hits(r, "kde") for r in cases])
            best = np.maximum(count, kde)
            n = len(cases)
            lines.append(
                f"| {kind} | {cell} m | {n} | {int((model >= best).all(axis=1).sum())} / {n} | "
                f"{int((model > best).any(axis=1).sum())} / {n} | {int((count >= kde).all(axis=1).sum())} / {n} | "
                f"{' / '.join(f'{x:+.1f}' for x in (model - count).mean(axis=0))} | "
                f"{' / '.join(f'{x:+.1f}' for x in (model - best).mean(axis=0))} |"
            )
    return lines


def hindsight_table(report: dict[str, Any]) -> list[str]:
    splits = SCOPES["held-out months 13-18"]
    header = " | ".join(f"{k} {c} m" for k in KINDS for c in CELLS)
    lines = [f"| single change from count | {header} |", "| --- |" + " ---: |" * 4]
    columns = []
    for kind in KINDS:
        for cell in CELLS:
            cases = _cases(report, kind, cell, splits)
            count = np.array([hits(r, "count") for r in cases])
            col = {}
            for p in HINDSIGHT:
                d = np.array([hits(r, p.label) for r in cases]) - count
                col[p.label] = (
                    f"{' / '.join(f'{x:+.1f}' for x in d.mean(axis=0))} "
                    f"({int((d.sum(axis=1) > 0).sum())}↑ {int((d.sum(axis=1) < 0).sum())}↓)"
                )
            columns.append(col)
    for p in HINDSIGHT:
        lines.append(f"| {p.label} | " + " | ".join(col[p.label] for col in columns) + " |")
    return lines


def grid_facts(report: dict[str, Any]) -> str:
    parts = []
    _, start, end = HEADLINE[0]
    for kind in KINDS:
        for cell in CELLS:
            r = report["results"][(kind, DEMO_SEED, cell, start, end)]
            g = r["grid"]
            parts.append(
                f"{kind} {cell} m: {g['cells']} cells ({g['area_km2']:.2f} km², KDE bandwidth "
                f"{r['kde']['bandwidth_m']:.0f} m, {r['train']['in_grid']} training events in the grid)"
            )
    return "; ".join(parts)


def chosen_counts(report: dict[str, Any]) -> list[str]:
    lines = []
    for kind in KINDS:
        for cell in CELLS:
            tally: dict[str, int] = defaultdict(int)
            cases = _cases(report, kind, cell, SCOPES["held-out months 13-18"])
            for r in cases:
                tally[r["model"]["label"]] += 1
            top = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append(
                f"- {kind}, {cell} m ({len(cases)} runs): " + "; ".join(f"{label} ×{n}" for label, n in top)
            )
    return lines


def _won(report: dict[str, Any], kind: str) -> str:
    """What the model was, in the held-out runs of one data set where it beat both somewhere and was below
    nowhere."""
    tally: dict[str, int] = defaultdict(int)
    for cell in CELLS:
        for r in _cases(report, kind, cell, SCOPES["held-out months 13-18"]):
            if (margin(r) > 0).any() and not (margin(r) < 0).any():
                tally[r["model"]["label"]] += 1
    top = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
    return "; ".join(f"{label} ×{n}" for label, n in top) or "none"


def _departures(report: dict[str, Any], kind: str) -> str:
    """In how many held-out runs of one data set the model left its fallback."""
    runs = [r for cell in CELLS for r in _cases(report, kind, cell, SCOPES["held-out months 13-18"])]
    left = sum(r["model"]["validation"]["steps"] != [] for r in runs if "validation" in r["model"])
    return f"{left} of {len(runs)}"


def _best_change(report: dict[str, Any], kind: str, cell: int) -> str:
    cases = _cases(report, kind, cell, SCOPES["held-out months 13-18"])
    count = np.array([hits(r, "count") for r in cases])
    gains = {p.label: (np.array([hits(r, p.label) for r in cases]) - count).mean(axis=0) for p in HINDSIGHT}
    label, gain = max(gains.items(), key=lambda kv: kv[1].sum())
    model = (np.array([hits(r, "model") for r in cases]) - count).mean(axis=0)
    return (
        f"at {cell} m the best single change in hindsight is {label} "
        f"({' / '.join(f'{x:+.1f}' for x in gain)} hits), the chosen model gets "
        f"{' / '.join(f'{x:+.1f}' for x in model)}"
    )


def reading(report: dict[str, Any]) -> list[str]:
    results = report["results"]
    held = SCOPES["held-out months 13-18"]
    total: dict[str, int] = defaultdict(int)
    for kind in KINDS:
        for cell in CELLS:
            for key, value in _tally(_cases(report, kind, cell, held)).items():
                total[key] += value
    verdicts = {
        f"{kind} {cell} m {name}": verdict(results[(kind, DEMO_SEED, cell, start, end)])
        for kind in KINDS
        for cell in CELLS
        for name, start, end in HEADLINE
    }
    missed = [f"{case}, {v}" for case, v in verdicts.items() if v.startswith("below")]
    runs = [r for kind in KINDS for cell in CELLS for r in _cases(report, kind, cell, held)]
    kde_first = sum(fallback(r) == "kde" for r in runs)
    kept = len(verdicts) - len(missed)
    return [
        f"- The guarantee asked for, never below the better baseline at any coverage: over the {total['cases']} "
        f"held-out (data, seed, cell, split, coverage) cases the model is better in {total['better']}, ties in "
        f"{total['tie']} and is below in {total['below']}. In {total['below'] - total['below, departed']} of "
        "those it found exactly what its fallback found: `count` and `kde` split the month and the one not "
        "chosen on the training months was luckier, which no choice made before the test month can avoid (the "
        f"fallback alone would be below in {total['fallback below']} cases, `count` alone in "
        f"{total['count below']}). In the other {total['below, departed']} the model had left its fallback on "
        "the training months' evidence and the test month went against the change: that is the price of the "
        f"{total['better']} wins, which neither baseline alone can have. The fallback was `kde` in {kde_first} "
        f"of the {len(runs)} held-out runs and `count` in the others.",
        f"- On the headline splits of the demo seed it holds in {kept} of {len(verdicts)} cases"
        + (f" (not for {'; '.join(missed)})" if missed else "")
        + ".",
        "- Recorded crime (police.uk files): `count` is close to the ceiling; "
        + "; ".join(_best_change(report, "crime", cell) for cell in CELLS)
        + f". The model left its fallback in {_departures(report, 'crime')} runs: almost every change loses "
        f"somewhere on some validation month. Runs where it beat both somewhere and was below nowhere: "
        f"{_won(report, 'crime')}.",
        "- Concerns: the planted emerging and fading patterns are strong, and recency is what wins in hindsight; "
        + "; ".join(_best_change(report, "concerns", cell) for cell in CELLS)
        + ". The rule takes a change only when it loses at no validation month and no coverage; the model left "
        f"its fallback in {_departures(report, 'concerns')} runs, giving up part of the average gain to stay "
        f"safe at every coverage. Runs where it beat both somewhere and was below nowhere: "
        f"{_won(report, 'concerns')}.",
        "- Smoothing and the KDE lose on both data sets: police.uk locations are snapped to anonymous points "
        "and concerns to a grid or anonymous points, so neighbouring cells really differ and spreading counts "
        "over them blurs the hotspots. The near-repeat term is close to neutral.",
    ]


def write_report(report: dict[str, Any], path: Path) -> None:
    results = report["results"]
    m = report["machine"]
    lines = [
        "# Hotspot backtest: `model` against `count` and `kde` on held-out months",
        "",
        f"Written by `python bench/backtest.py` on {date.today().isoformat()} ({m['cores']} cores, "
        f"{m['cpu']}, Python {m['python']}; numpy {m['packages']['numpy']}, scipy {m['packages']['scipy']}, "
        f"duckdb {m['packages']['duckdb']}). Making the data took {report['read_seconds']} s, all "
        f"{len(results)} backtests {report['backtest_seconds']} s.",
        "",
        "## Summary: the model against the better baseline",
        "",
        "One case is one (data set, seed, cell size, split, coverage): the model's hits on the test months "
        "against the better of `count` and `kde` at that coverage. Held-out months 13-18: the splits 1-15 → "
        "16-18 and each month 13..18 from all the months before it, crime seeds "
        f"{', '.join(map(str, report['crime_seeds']))} and concern seeds "
        f"{', '.join(map(str, report['concern_seeds']))}. Months 7-12, predicted the same way, are where the "
        "rule below was compared with looser ones (see *The rule*), so they are not clean held-out months. "
        '"The fallback alone" and "`count` alone" score the baseline the model falls back to, and `count`, in '
        "the model's place.",
        "",
        *summary_table(report),
        "",
        "**Read this first.** The data are the demo's, made by `koban_geo.ops.demo`: *synthetic* crime and concerns "
        "with patterns planted on purpose (a persistent drug market, a bar street that emerges from 2026-06, a "
        "bridge where graffiti fades after 2025-12, a shopping street with much recorded theft), over only "
        "1.7 km² of central Helsinki. The recorded crime is, apart from the planted emerging and fading spots, "
        "drawn every month from one fixed map, so counting every month alike is close to the best any ranking "
        "can do there; the concerns carry much stronger emerging and fading patterns. The area is small: at "
        "250 m the grid has about 25 cells, so 1 % and 5 % of the cells are one or two cells and every "
        "method picks the same ones; 100 m cells (about 150-190) are the more sensible size here, and both are "
        "reported. None of this says how the model does on a real force's data.",
        "",
        f"Grids (train 1-17): {grid_facts(report)}.",
        "",
        "Methods (see `koban_geo/backtest.py`): **count** = training events per cell, every month alike; "
        "**kde** = Gaussian KDE of the training points at the cell centres, Scott's bandwidth, by binning and "
        "one Gaussian filter; **model** = the project's predictor, a family of recency-weighted counts with "
        "optional light smoothing, a near-repeat term (last month, smoothed by one cell), a crime-type (theme) "
        "mix that rescales each type by its recent volume, and a blend with the KDE; `count` and `kde` are two "
        "of its members. Metrics: k = ceil(share × cells) top cells (ties by cell id), hit rate n/N, "
        "PAI = (n/N)/(k/cells), PEI* = n/n* with n* the k largest test counts.",
        "",
        "## The rule that chooses the model",
        "",
        "Chosen per run on the *training* months only, by a rolling-origin validation: each of the last six "
        "training months is predicted from the months before it (with the test's gap). The margin of a "
        "candidate over another at one validation month and one coverage is the difference of their PEI*.",
        "",
        "1. **Fallback**: the baseline that validates better, i.e. of `count` and `kde` the one whose worst "
        "coverage (PEI* pooled over the six months) falls least short of the better of the two; `count` on a "
        "tie.",
        "2. **Departures**: from the fallback, a greedy search changes one field at a time (half-life 12, 6, 4, "
        "3, 2 months; smoothing 0.5, 1 cell; near-repeat 0.25, 0.5; type mix with a level half-life of 1 or 3 "
        "months; KDE weight 0 to 1) and takes the change with the largest mean margin among those that "
        "(a) lose to the current candidate at *no* validation month and *no* coverage (worst margin ≥ 0), "
        "(b) gain somewhere, and (c) pooled over the six months, reach the better baseline at every coverage. "
        "It stops when no change qualifies.",
        "",
        "So the model is never below its fallback at any validation month or coverage, and when nothing "
        "qualifies it *is* the fallback, cell for cell. The earlier rule kept a change that lost at no coverage "
        "*in total* over the six months and gained enough on average; it let through changes that lost at one "
        "coverage on some months (it was below on concerns 100 m 1-17 → 18 at 10 %). On months 7-12 the strict "
        "rule was compared with looser ones (the total-based rule, and per-month tolerances of one standard "
        "error or a sign test on the swapped cells): each looser rule won more cases there and was below in "
        "many more, so the strict one was kept before months 13-18 were scored.",
        "",
        "## Held-out months (the demo seed)",
        "",
        "Train on months 1-17 (2025-05 .. 2026-09), test on month 18 (2026-10); and train on 1-15, test on "
        "16-18 (2026-08 .. 2026-10) together. Bold: the model finds more than both baselines.",
        "",
        "Model against the better baseline at each coverage: "
        + "; ".join(
            f"{k} {c} m {n}: {verdict(results[(k, DEMO_SEED, c, a, b)])}"
            for k in KINDS
            for c in CELLS
            for n, a, b in HEADLINE
        )
        + ".",
        "",
        *headline_tables(report),
        "## What the model chose, and why",
        "",
        *choice_table(report),
        "",
        "## Rolling origins (the demo seed)",
        "",
        "Each month from 2026-05 to 2026-10 (months 13-18) is predicted from all the months before it. Single "
        "months are noisy: a few events decide between rankings that differ in one or two cells.",
        "",
        *rolling_tables(report),
        "## Across seeds",
        "",
        "The held-out splits (1-15 → 16-18 and the six rolling origins) on independent draws of the demo "
        'generator, counted per run rather than per coverage. The column "count ≥ kde" shows how often `count` '
        "itself clears the bar set for the model: on single months the better baseline is partly luck.",
        "",
        *robustness_table(report),
        "",
        "What the model chose across those runs:",
        "",
        *chosen_counts(report),
        "",
        "## Hindsight: what would have won",
        "",
        "Each single change from `count`, scored on the held-out months of every run above (mean extra hits "
        "against `count` at 1 / 5 / 10 %; runs better ↑ and worse ↓ summed over the coverages). This is not "
        "how the model is chosen (that uses training months only); it shows which ingredients carry signal "
        "on this data.",
        "",
        *hindsight_table(report),
        "",
        "## Reading the results",
        "",
        *reading(report),
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seeds", type=int, default=8, help="more crime seeds besides the demo's (default 8)"
    )
    parser.add_argument("--concern-seeds", type=int, default=5, help="more concern seeds (default 5)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"report path (default {RESULTS})")
    args = parser.parse_args(argv)
    report = run(args)
    write_report(report, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
