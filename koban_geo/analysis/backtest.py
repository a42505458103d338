"""Backtesting hotspot predictions: rank the cells of one grid from past events, score them on later ones.

Three ways to rank cells are compared at the same coverage shares (the top 1 %, 5 %, 10 % of cells):

- ``count``: training events per cell (every month alike);
- ``kde``: a Gaussian kernel density of the training points at the cell centres (Scott's bandwidth);
- ``model``: the project's predictor, a family of recency-weighted counts with optional light smoothing, a
  near-repeat term, a crime-type (theme) mix and a blend with the KDE (`ModelParams`); `count` and `kde` are
  two of its members. Its parameters are chosen per run on the *training* months only (`choose_model`), by
  a rolling-origin validation over the last six training months (`Validation`).

The choice guards every requested coverage, not an average of them. The margin of a candidate over a ranking
at one validation month and one coverage is the difference of their PEI*; the rule is:

1. the *fallback* is the baseline that validates better: of `count` and `kde`, the one whose worst
   coverage, pooled over the origins, falls least short of the better of the two (a tie: `count`);
2. from the fallback, a greedy search changes one field at a time (`SEARCH`) and keeps the change with the
   largest mean margin among those that (a) lose to the current candidate at no validation month and no
   coverage (worst margin ≥ 0), (b) gain somewhere, and (c) pooled over the origins, reach the better
   baseline at every coverage; it stops when no change qualifies.

By (a) every step dominates the one before, so the model is at least as good as the fallback at every
validation month and coverage; when nothing qualifies, the model *is* the fallback and ranks exactly like it.
That is the most the training months can promise: a held-out month can still favour the other baseline, or
a change that validated well. The test months are read once.
bench/results/backtest.md compares the three on held-out demo months and reports what won.

Metrics for a coverage share c of a grid of C cells, with k = ceil(c × C) top-ranked cells (ties broken by
cell id: south before north, then west before east), n test events in them and N test events in the grid:
hit rate n/N; PAI = (n/N)/(k/C) (all cells have one area, so a/A = k/C); PEI* = n/n*, where n* is the sum
of the k largest test counts per cell, the best any ranking could do with k cells.

The grid: training points projected to the WGS 84 / UTM zone of their median lon/lat (always_xy), square
cells of `cell` metres aligned to multiples of `cell` in that CRS, and the study area made of the cells
whose centre lies in (or on) the convex hull of the training points. Only events in those cells are
counted and scored; training events just outside still feed the KDE and the smoothing of nearby cells.

The module is split by topic: reading events and the grid (`backtest_data`), rankings, metrics and the
choice of the model (`backtest_model`), and running a backtest (here, which also re-exports their names).

    >>> hit_metrics(np.array([3.0, 2.0, 1.0, 0.0]), np.array([1, 5, 0, 2]), (0.5,))[0]["hit_rate"]
    0.75
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from koban_geo.analysis.backtest_data import (
    DEFAULT_CELL,
    BacktestError,
    Events,
    Grid,
    concern_events,
    read_policeuk,
    read_policeuk_counted,
    study_grid,
)
from koban_geo.analysis.backtest_model import (
    COUNT_PARAMS,
    DEFAULT_COVERAGE,
    KDE_PARAMS,
    MIN_HISTORY,
    SEARCH,
    VALIDATION_ORIGINS,
    Choice,
    History,
    ModelParams,
    Step,
    Validation,
    better_baseline,
    check_coverage,
    choose_model,
    hit_metrics,
    kde_bandwidth,
    kde_raster,
    margins,
    model_raster,
    rank_cells,
)

__all__ = [
    "COUNT_PARAMS",
    "DEFAULT_CELL",
    "DEFAULT_COVERAGE",
    "KDE_PARAMS",
    "METHODS",
    "MIN_HISTORY",
    "SEARCH",
    "VALIDATION_ORIGINS",
    "BacktestError",
    "Choice",
    "Events",
    "Grid",
    "History",
    "ModelParams",
    "Step",
    "Validation",
    "backtest_events",
    "backtest_store",
    "better_baseline",
    "choose_model",
    "concern_events",
    "hit_metrics",
    "kde_raster",
    "margins",
    "model_raster",
    "rank_cells",
    "read_policeuk",
    "run_backtest",
    "study_grid",
]


METHODS = ("model", "count", "kde")


# --------------------------------------------------------------------------------------------------------
# Running a backtest


def _month_strings(months: np.ndarray) -> list[str]:
    return [str(m) for m in np.unique(months)]


def backtest_events(
    train: Events,
    test: Events,
    *,
    cell: float = DEFAULT_CELL,
    coverage: Sequence[float] = DEFAULT_COVERAGE,
    also: Sequence[ModelParams] = (),
) -> dict[str, Any]:
    """The backtest of events already read (see the module docstring); the result is JSON-serialisable.

    `also`: more candidates to score on the test months, under "hindsight" (for benchmarks: they take no
    part in choosing the model).
    """
    coverage = check_coverage(coverage)
    if train.size == 0:
        raise BacktestError("no training events with coordinates")
    if test.size == 0:
        raise BacktestError("no test events with coordinates")
    last_train, first_test = train.month.max(), test.month.min()
    if first_test <= last_train:
        raise BacktestError(
            f"the test months must come after the training months: the test starts {first_test}, "
            f"training ends {last_train}"
        )
    grid = study_grid(train.lon, train.lat, cell)
    history = History.build(grid, train)
    horizon = int((first_test - last_train).astype(int))
    validation = Validation(history, horizon, coverage)
    choice = choose_model(validation)

    tx, ty = grid.project(test.lon, test.lat)
    index = grid.raster_index(tx, ty)
    inside = grid.in_study(index)
    rows, cols = grid.shape
    truth = np.bincount(index[inside], minlength=rows * cols).reshape(rows, cols)[grid.mask]
    kde = history.kde()
    total = history.raster()
    params = choice.params
    rasters = {"model": model_raster(history, params, kde), "count": total, "kde": kde}
    model: dict[str, Any] = {"label": params.label, "params": asdict(params)}
    if not validation.origins:
        model["chosen_by"] = (
            f"default: no training month has {MIN_HISTORY} earlier months to validate on, so `count`"
        )
    else:
        model["chosen_by"] = (
            "rolling-origin validation on training months only: start at the baseline that validates better, "
            "then take one change at a time, only if it loses to the current candidate at no validation month "
            "and no coverage, gains somewhere, and reaches the better baseline at every coverage"
        )
        model["validation"] = {
            "origins": validation.months,
            "events": int(validation.events.sum()),
            "fallback": "kde" if choice.fallback == KDE_PARAMS else "count",
            "pei_star": {
                "count": validation.pei(COUNT_PARAMS),
                "kde": validation.pei(KDE_PARAMS),
                "model": validation.pei(params),
            },
            "worst_margin_over_fallback": round(float(margins(validation, params, choice.fallback).min()), 4),
            "steps": [step.as_dict() for step in choice.steps],
            "moves_from_fallback": [move.as_dict() for move in choice.moves],
        }
    result: dict[str, Any] = {
        "grid": grid.info(),
        "coverage": list(coverage),
        "train": {
            "months": _month_strings(train.month),
            "events": train.size,
            "in_grid": int(total[grid.mask].sum()),
        },
        "test": {"months": _month_strings(test.month), "events": test.size, "in_grid": int(truth.sum())},
        "kde": {"bandwidth_m": round(kde_bandwidth(history.x, history.y, cell), 1), "rule": "Scott"},
        "model": model,
        "methods": {name: hit_metrics(rasters[name][grid.mask], truth, coverage) for name in METHODS},
    }
    if also:
        result["hindsight"] = {
            p.label: hit_metrics(model_raster(history, p, kde)[grid.mask], truth, coverage) for p in also
        }
    return result


def run_backtest(
    train_paths: Sequence[Path | str],
    test_paths: Sequence[Path | str],
    cell: float = DEFAULT_CELL,
    coverage: Sequence[float] = DEFAULT_COVERAGE,
    fmt: str = "policeuk",
) -> dict[str, Any]:
    """Backtest on police.uk files: train on `train_paths`, score on `test_paths` (later months).

    Needs no store. The result is the dict of `backtest_events` plus the source, the format and the rows
    skipped for want of coordinates or a month.
    """
    if fmt != "policeuk":
        raise BacktestError(f"format {fmt!r} is not supported for backtests (only 'policeuk')")
    train, train_skipped = read_policeuk_counted(train_paths)
    test, test_skipped = read_policeuk_counted(test_paths)
    result = backtest_events(train, test, cell=cell, coverage=coverage)
    result["train"]["skipped"] = train_skipped
    result["test"]["skipped"] = test_skipped
    return {"source": "files", "format": fmt} | result


def backtest_store(
    con: duckdb.DuckDBPyConnection,
    train_months: Sequence[str],
    test_month: str | Sequence[str],
    *,
    cell: float = DEFAULT_CELL,
    coverage: Sequence[float] = DEFAULT_COVERAGE,
    include_sensitive: bool = False,
    dedupe_groups: bool = True,
) -> dict[str, Any]:
    """Backtest on the concerns in the store, by month ('YYYY-MM'; one test month or several), with the
    theme as the kind. No file is read and nothing is written.

    Sensitive themes (stored on a coarse grid) are left out unless asked for; a near-duplicate group counts
    once, at its first report, as the hotspot maps count it.
    """
    train = [_month(m) for m in train_months]
    test = [_month(m) for m in ([test_month] if isinstance(test_month, str) else test_month)]
    if not train or not test:
        raise BacktestError("name at least one training month and one test month")
    options = {"include_sensitive": include_sensitive, "dedupe_groups": dedupe_groups}
    result = backtest_events(
        concern_events(con, train, **options), concern_events(con, test, **options), cell=cell,
        coverage=coverage,
    )  # fmt: skip
    return {"source": "store", "format": "concerns"} | options | result


def _month(value: str) -> str:
    try:
        return str(np.datetime64(str(value).strip(), "M"))
    except ValueError as exc:
        raise BacktestError(f"month {value!r}: expected YYYY-MM") from exc
