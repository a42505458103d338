"""Held-out backtest of the hotspot `model` against `count` and `kde` on the demo; writes bench/results/backtest.md.

    python bench/backtest.py                                # demo seed 7 + 8 more crime seeds + 3 concern seeds
    python bench/backtest.py --seeds 0 --concern-seeds 0    # the demo seed only (about 20 s)

Two data sets, both made by koban_geo.demo (synthetic, with planted persistent / emerging / fading
patterns, over 1.7 km² of central Helsinki, 18 months 2025-05 .. 2026-10):
  crime     the 18 monthly police.uk street-level CSVs, read from the files (`run_backtest`, no store);
  concerns  the residents' concerns after ingestion into a demo store (`backtest_store`, by month).
Splits: train on months 1-17 and test on month 18; train on 1-15 and test on 16-18 together; and rolling
origins, each of months 13..18 predicted from all the months before it. The model is chosen on training
months only; test months are scored once. "Hindsight" scores each single change from `count` on the test
months too, to show what would have won; it takes no part in choosing.
Other seeds of the same generator give independent draws of the same process, for the robustness table.
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

from koban_geo.backtest import (
    COUNT_PARAMS,
    DEFAULT_COVERAGE,
    SEARCH,
    Events,
    backtest_events,
    concern_events,
    read_policeuk,
    run_backtest,
)
from koban_geo.db import connect
from koban_geo.demo import MONTHS, build_demo, write_demo_inputs
from koban_geo.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "backtest.md"
DEMO_SEED = 7  # the seed `koban-geo demo` uses
CELLS = (100, 250)
HEADLINE = (("1-17 → 18", 17, 18), ("1-15 → 16-18", 15, 18))  # (name, first test month index, end)
ROLLING = tuple((f"{MONTHS[t]}", t, t + 1) for t in range(12, 18))
HINDSIGHT = tuple(replace(COUNT_PARAMS, **{name: v}) for name, values in SEARCH.items() for v in values)
PACKAGES = ("numpy", "scipy", "duckdb", "pyproj", "shapely")
PCT = {c: f"{c * 100:g} %" for c in DEFAULT_COVERAGE}


def crime_events(root: Path, seed: int) -> tuple[Events, tuple[Path, ...]]:
    files = write_demo_inputs(root / f"crime-{seed}", seed).crime
    return read_policeuk(files), files


def concerns(root: Path, seed: int) -> Events:
    work = root / f"store-{seed}"
    work.mkdir(parents=True)
    db = work / "koban.duckdb"
    con = connect(db)
    try:
        build_demo(con, Settings(db=db, _env_file=None), work / "inputs", seed)  # type: ignore[call-arg]
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


def verdict(result: dict[str, Any]) -> str:
    model, count, kde = (hits(result, m) for m in ("model", "count", "kde"))
    best = np.maximum(count, kde)
    if (model < best).any():
        where = ", ".join(PCT[c] for c, below in zip(DEFAULT_COVERAGE, model < best, strict=True) if below)
        return f"below at {where}"
    return "**better**" if (model > best).any() else "tie"


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
    results: dict[tuple[str, int, int, str], dict[str, Any]] = {}
    for (kind, seed), events in data.items():
        for cell in CELLS:
            for name, start, end in HEADLINE + ROLLING:
                results[(kind, seed, cell, name)] = split(events, start, end, cell)
    report["backtest_seconds"] = round(time.perf_counter() - started, 1)
    report["results"] = results
    report["crime_seeds"], report["concern_seeds"] = crime_seeds, concern_seeds
    return report


# ---------------------------------------------------------------------------------------------------------
# The report


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def headline_tables(results: dict[tuple[str, int, int, str], dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for i, c in enumerate(DEFAULT_COVERAGE):
        lines += [
            f"### Coverage {PCT[c]} of the cells",
            "",
            "| data | cell | train → test | k / cells | method | hits / N | hit rate | PAI | PEI* |",
            "| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |",
        ]
        for kind in ("crime", "concerns"):
            for cell in CELLS:
                for name, _, _ in HEADLINE:
                    r = results[(kind, DEMO_SEED, cell, name)]
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


def choice_table(results: dict[tuple[str, int, int, str], dict[str, Any]]) -> list[str]:
    cases = [
        (kind, cell, name) for kind in ("crime", "concerns") for cell in CELLS for name, _, _ in HEADLINE
    ]
    lines = [
        "| data | cell | train → test | model chosen on training months | validation PEI* count / kde / model "
        "(1 %, 5 %, 10 %) |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for kind, cell, name in cases:
        m = results[(kind, DEMO_SEED, cell, name)]["model"]
        v = m.get("validation", {}).get("pei_star", {})
        pei = " / ".join(",".join(f"{x:.2f}" for x in v.get(k, [])) for k in ("count", "kde", "model"))
        lines.append(f"| {kind} | {cell} m | {name} | {m['label']} | {pei} |")
    lines += [
        "",
        "Every single change tried from `count` in validation on the 1-17 → 18 split: extra hits over the six "
        "origins and three coverages, the worst coverage's extra hits, t (curve gain / standard error) and the "
        "sign count (origins better minus worse). A change is kept when it loses at no coverage and t ≥ 2 or "
        "sign ≥ 4; ✔ marks the first change kept.",
        "",
        "| change from count | "
        + " | ".join(f"{k} {c} m" for k in ("crime", "concerns") for c in CELLS)
        + " |",
        "| --- |" + " ---: |" * 4,
    ]
    moves: dict[str, list[str]] = defaultdict(list)
    for kind in ("crime", "concerns"):
        for cell in CELLS:
            for mv in results[(kind, DEMO_SEED, cell, HEADLINE[0][0])]["model"]["validation"][
                "moves_from_count"
            ]:
                tick = " ✔" if mv["accepted"] else ""
                moves[mv["label"]].append(
                    f"{mv['gain']:+d} ({mv['worst_coverage_gain']:+d}), t {mv['t']:.1f}, s {mv['sign']:+d}{tick}"
                )
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in moves.items()]
    return lines


def rolling_tables(results: dict[tuple[str, int, int, str], dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for kind in ("crime", "concerns"):
        for cell in CELLS:
            lines += [
                f"**{kind}, {cell} m** (hits at 1 % / 5 % / 10 %)",
                "",
                "| test month | model chosen | model | count | kde | model vs the better baseline |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for name, _, _ in ROLLING:
                r = results[(kind, DEMO_SEED, cell, name)]
                h = {m: " / ".join(str(x) for x in hits(r, m)) for m in ("model", "count", "kde")}
                lines.append(
                    f"| {name} | {r['model']['label']} | {h['model']} | {h['count']} | {h['kde']} | {verdict(r)} |"
                )
            lines.append("")
    return lines


def _cases(results: dict[tuple[str, int, int, str], dict[str, Any]], kind: str, cell: int, seeds: list[int]) -> list[dict[str, Any]]:  # fmt: skip
    names = [n for n, _, _ in HEADLINE + ROLLING]
    return [results[(kind, s, cell, n)] for s in seeds for n in names if (kind, s, cell, n) in results]


def robustness_table(report: dict[str, Any]) -> list[str]:
    results = report["results"]
    lines = [
        "| data | cell | seeds × splits | model ≥ both at every coverage | model > both somewhere | "
        "count ≥ kde at every coverage | mean extra hits vs count (1 / 5 / 10 %) | vs the better baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for kind, seeds in (("crime", report["crime_seeds"]), ("concerns", report["concern_seeds"])):
        for cell in CELLS:
            cases = _cases(results, kind, cell, seeds)
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
    results = report["results"]
    header = " | ".join(f"{k} {c} m" for k in ("crime", "concerns") for c in CELLS)
    lines = [
        f"| single change from count | {header} |",
        "| --- |" + " ---: |" * 4,
    ]
    columns = []
    for kind, seeds in (("crime", report["crime_seeds"]), ("concerns", report["concern_seeds"])):
        for cell in CELLS:
            cases = _cases(results, kind, cell, seeds)
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


def grid_facts(results: dict[tuple[str, int, int, str], dict[str, Any]]) -> str:
    parts = []
    for kind in ("crime", "concerns"):
        for cell in CELLS:
            r = results[(kind, DEMO_SEED, cell, HEADLINE[0][0])]
            g = r["grid"]
            parts.append(
                f"{kind} {cell} m: {g['cells']} cells ({g['area_km2']:.2f} km², KDE bandwidth "
                f"{r['kde']['bandwidth_m']:.0f} m, {r['train']['in_grid']} training events in the grid)"
            )
    return "; ".join(parts)


def chosen_counts(report: dict[str, Any]) -> list[str]:
    lines = []
    for kind, seeds in (("crime", report["crime_seeds"]), ("concerns", report["concern_seeds"])):
        for cell in CELLS:
            tally: dict[str, int] = defaultdict(int)
            for r in _cases(report["results"], kind, cell, seeds):
                tally[r["model"]["label"]] += 1
            top = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append(f"- {kind}, {cell} m: " + "; ".join(f"{label} ×{n}" for label, n in top))
    return lines


def _below_as_count(report: dict[str, Any], kind: str, seeds: list[int]) -> tuple[int, int]:
    """Runs where the model falls below the better baseline, and how many of them rank like `count`."""
    below = same = 0
    for cell in CELLS:
        for r in _cases(report["results"], kind, cell, seeds):
            model, count, kde = (hits(r, m) for m in ("model", "count", "kde"))
            if (model < np.maximum(count, kde)).any():
                below += 1
                same += int((model == count).all())
    return below, same


def _best_change(report: dict[str, Any], kind: str, seeds: list[int], cell: int) -> str:
    cases = _cases(report["results"], kind, cell, seeds)
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
    crime, concern = report["crime_seeds"], report["concern_seeds"]
    below, same = _below_as_count(report, "crime", crime)
    verdicts = {
        f"{kind} {cell} m {name}": verdict(report["results"][(kind, DEMO_SEED, cell, name)])
        for kind in ("crime", "concerns")
        for cell in CELLS
        for name, _, _ in HEADLINE
    }
    held = [case for case, v in verdicts.items() if not v.startswith("below")]
    missed = [f"{case}, {v}" for case, v in verdicts.items() if v.startswith("below")]
    return [
        "- Recorded crime (police.uk files): `count` is close to the ceiling; "
        + "; ".join(_best_change(report, "crime", crime, cell) for cell in CELLS)
        + ". The model asks for evidence on the training months before it changes anything and stays with "
        "`count` in most runs, so it mostly ties: the one trend the generator plants in recorded crime, the "
        "emerging bar street, is a few events a month in a couple of cells, too weak to show in six "
        f"validation months. Of the {below} run(s) where the model falls below the better baseline, {same} rank "
        "exactly like `count`: `kde` had the luckier month.",
        "- Concerns: the planted emerging and fading patterns are strong, and recency is what wins; "
        + "; ".join(_best_change(report, "concerns", concern, cell) for cell in CELLS)
        + ". The model takes part of that gain: six training months often make the milder type-mix change "
        "(which follows the seasonal swing of lighting and noise reports) look safer than the recency gain, "
        "whose size varies from month to month.",
        "- Smoothing and the KDE lose on both data sets: police.uk locations are snapped to anonymous points "
        "and concerns to a grid or anonymous points, so neighbouring cells really differ and spreading counts "
        "over them blurs the hotspots. The near-repeat term is close to neutral.",
        "- The guarantee asked for, never below the better baseline at any coverage: on the headline splits "
        f"of the demo seed it holds in {len(held)} of {len(verdicts)} cases"
        + (f" (not for {'; '.join(missed)})" if missed else "")
        + ". No ranking can hold it on every single held-out month (the `count ≥ kde` column shows that the "
        "baselines do not either), so the table across seeds gives the honest rate.",
    ]


def write_report(report: dict[str, Any], path: Path) -> None:
    results = report["results"]
    m = report["machine"]
    headline_cases = [(k, c, n) for k in ("crime", "concerns") for c in CELLS for n, _, _ in HEADLINE]
    verdicts = {case: verdict(results[(case[0], DEMO_SEED, case[1], case[2])]) for case in headline_cases}
    lines = [
        "# Hotspot backtest: `model` against `count` and `kde` on held-out months",
        "",
        f"Written by `python bench/backtest.py` on {date.today().isoformat()} ({m['cores']} cores, "
        f"{m['cpu']}, Python {m['python']}; numpy {m['packages']['numpy']}, scipy {m['packages']['scipy']}, "
        f"duckdb {m['packages']['duckdb']}). Making the data took {report['read_seconds']} s, all "
        f"{len(results)} backtests {report['backtest_seconds']} s.",
        "",
        "**Read this first.** The data are the demo's, made by `koban_geo.demo`: *synthetic* crime and concerns "
        "with patterns planted on purpose (a persistent drug market, a bar street that emerges from 2026-06, a "
        "bridge where graffiti fades after 2025-12, a shopping street with much recorded theft), over only "
        "1.7 km² of central Helsinki. The recorded crime is, apart from the planted emerging and fading spots, "
        "drawn every month from one fixed map, so counting every month alike is close to the best any ranking "
        "can do there; the concerns carry much stronger emerging and fading patterns. The area is small: at "
        "250 m the grid has about 25 cells, so 1 % and 5 % of the cells are one or two cells and every "
        "method picks the same ones; 100 m cells (about 150-190) are the more sensible size here, and both are "
        "reported. None of this says how the model does on a real force's data.",
        "",
        f"Grids (train 1-17): {grid_facts(results)}.",
        "",
        "Methods (see `koban_geo/backtest.py`): **count** = training events per cell, every month alike; "
        "**kde** = Gaussian KDE of the training points at the cell centres, Scott's bandwidth, by binning and "
        "one Gaussian filter; **model** = the project's predictor, a family of recency-weighted counts with "
        "optional light smoothing, a near-repeat term (last month, smoothed by one cell), a crime-type (theme) "
        "mix that rescales each type by its recent volume, and a blend with the KDE, chosen per run by a "
        "greedy search from `count` on a rolling-origin validation over the last six *training* months. "
        "Metrics: k = ceil(share × cells) top cells (ties by cell id), hit rate n/N, PAI = (n/N)/(k/cells), "
        "PEI* = n/n* with n* the k largest test counts.",
        "",
        "## Held-out months (the demo seed)",
        "",
        "Train on months 1-17 (2025-05 .. 2026-09), test on month 18 (2026-10); and train on 1-15, test on "
        "16-18 (2026-08 .. 2026-10) together. Bold: the model finds more than both baselines.",
        "",
        "Model against the better baseline at each coverage: "
        + "; ".join(f"{k} {c} m {n}: {verdicts[(k, c, n)]}" for k, c, n in headline_cases)
        + ".",
        "",
        *headline_tables(results),
        "## What the model chose, and why",
        "",
        *choice_table(results),
        "",
        "## Rolling origins (the demo seed)",
        "",
        "Each month from 2026-05 to 2026-10 (months 13-18) is predicted from all the months before it. Single months are "
        "noisy: a few events decide between rankings that differ in one or two cells.",
        "",
        *rolling_tables(results),
        "## Across seeds",
        "",
        f"The same splits (both headline splits and the six rolling origins) on independent draws of the demo "
        f"generator: crime seeds {', '.join(map(str, report['crime_seeds']))}; concern seeds "
        f'{", ".join(map(str, report["concern_seeds"]))}. The column "count ≥ kde" shows how often `count` itself '
        "clears the bar set for the model: on single months the better baseline is partly luck.",
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
    parser.add_argument("--concern-seeds", type=int, default=3, help="more concern seeds (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"report path (default {RESULTS})")
    args = parser.parse_args(argv)
    report = run(args)
    write_report(report, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
