"""Backtest scores: the cell rankings (count, KDE, the project's model family), their hit metrics, and the
choice of the model's parameters on training months only (rolling-origin validation).

The method and the metrics are described in koban_geo.analysis.backtest's docstring.

    >>> hit_metrics(np.array([3.0, 2.0, 1.0, 0.0]), np.array([1, 5, 0, 2]), (0.5,))[0]["hit_rate"]
    0.75
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol

import numpy as np
from scipy.ndimage import gaussian_filter

from koban_geo.analysis.backtest_data import BacktestError, Events, Grid

DEFAULT_COVERAGE = (0.01, 0.05, 0.1)
# Rolling-origin validation: up to this many origins, each with at least this many earlier months.
VALIDATION_ORIGINS = 6
MIN_HISTORY = 3


# --------------------------------------------------------------------------------------------------------
# Scores


def kde_bandwidth(x: np.ndarray, y: np.ndarray, cell: float) -> float:
    """Scott's rule in two dimensions, h = σ n^(-1/6) with σ² the mean of the two coordinate variances.

    Never below a tenth of a cell, so a handful of points on one spot still gives a finite kernel.
    """
    n = len(x)
    sigma = math.sqrt((np.var(x) + np.var(y)) / 2) if n > 1 else 0.0
    return max(sigma * n ** (-1 / 6) if n else 0.0, cell / 10)


def kde_raster(grid: Grid, x: np.ndarray, y: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian KDE (per m²) at every cell centre, by binning on an odd sub-grid and one Gaussian filter.

    Sub-cells of cell/m metres (m odd, m ≥ 2 × cell / bandwidth, at most 15) put one sub-cell centre on each
    cell centre; the filter is truncated at 4 bandwidths. Cost: O(points + sub-cells), not points × cells.
    """
    rows, cols = grid.shape
    m = min(15, max(1, math.ceil(2 * grid.cell / bandwidth)))
    m += 1 - m % 2
    while m > 1 and rows * cols * m * m > 4_000_000:
        m -= 2
    sub = grid.cell / m
    fx = np.clip(np.floor((x - grid.x0) / sub).astype(np.int64), 0, cols * m - 1)
    fy = np.clip(np.floor((y - grid.y0) / sub).astype(np.int64), 0, rows * m - 1)
    fine = np.bincount(fy * cols * m + fx, minlength=rows * m * cols * m).reshape(rows * m, cols * m)
    smooth = gaussian_filter(fine.astype(float), bandwidth / sub, mode="constant", truncate=4.0)
    return np.asarray(smooth[m // 2 :: m, m // 2 :: m] / (sub * sub * max(len(x), 1)))


@dataclass(frozen=True)
class ModelParams:
    """One candidate of the `model` family.

    half_life: months after which a month's events count half (None: every month alike);
    sigma: Gaussian smoothing of the weighted counts, in cells (0: none);
    near_repeat: weight of last month's events, smoothed by one cell, added to the normalised score;
    type_level: half-life (months) of each crime type's recent volume, which rescales that type's map
        (None: types pooled);
    kde_weight: share of the normalised training KDE in a convex blend (0: none; 1: the KDE alone, which is
        the `kde` baseline).
    """

    half_life: float | None = None
    sigma: float = 0.0
    near_repeat: float = 0.0
    type_level: float | None = None
    kde_weight: float = 0.0

    @property
    def label(self) -> str:
        if self.kde_weight >= 1:
            return "KDE alone (= kde)"
        if self == COUNT_PARAMS:
            return "all months alike (= count)"
        parts = [f"half-life {self.half_life:g} mo" if self.half_life else "all months alike"]
        if self.sigma:
            parts.append(f"smoothed {self.sigma:g} cell")
        if self.near_repeat:
            parts.append(f"near-repeat {self.near_repeat:g}")
        if self.type_level:
            parts.append(f"type mix (level half-life {self.type_level:g} mo)")
        if self.kde_weight:
            parts.append(f"{self.kde_weight:g} KDE blend")
        return ", ".join(parts)


COUNT_PARAMS = ModelParams()  # the `count` baseline as a member of the family
KDE_PARAMS = ModelParams(kde_weight=1.0)  # the `kde` baseline as a member of the family


# The search space of `choose_model`: each step changes one field of the current candidate to one of these
# (milder values first: among changes of equal gain the first is kept).
SEARCH: dict[str, tuple[float, ...]] = {
    "half_life": (12.0, 6.0, 4.0, 3.0, 2.0),
    "sigma": (0.5, 1.0),
    "near_repeat": (0.25, 0.5),
    "type_level": (1.0, 3.0),
    "kde_weight": (0.0, 0.25, 0.5, 0.75, 1.0),
}


@dataclass
class History:
    """Training events on the grid: raster index, month and kind of each, kept per event (not as a
    months × kinds × cells cube, which would not fit for a whole police force at 100 m)."""

    grid: Grid
    months: np.ndarray  # datetime64[M], sorted, distinct
    kinds: tuple[str, ...]
    index: np.ndarray  # flat raster index of each event
    month_of: np.ndarray  # position in `months` of each event
    kind_of: np.ndarray  # position in `kinds` of each event
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def build(cls, grid: Grid, events: Events) -> History:
        x, y = grid.project(events.lon, events.lat)
        index = grid.raster_index(x, y)
        keep = index >= 0  # every training point is on the raster; kept for safety
        months, month_of = np.unique(events.month[keep], return_inverse=True)
        kinds, kind_of = np.unique(events.kind[keep].astype(str), return_inverse=True)
        return cls(
            grid, months, tuple(str(k) for k in kinds), index[keep], month_of, kind_of, x[keep], y[keep]
        )

    def upto(self, n: int) -> History:
        """The first n months only (rolling-origin validation)."""
        k = self.month_of < n
        return History(self.grid, self.months[:n], self.kinds, self.index[k], self.month_of[k],
                       self.kind_of[k], self.x[k], self.y[k])  # fmt: skip

    def raster(self, weights: np.ndarray | None = None) -> np.ndarray:
        """(Weighted) events per raster cell."""
        rows, cols = self.grid.shape
        return np.bincount(self.index, weights, minlength=rows * cols).reshape(rows, cols).astype(float)

    def in_month(self, position: int) -> np.ndarray:
        """Events per study cell in month `months[position]`."""
        return np.asarray(self.raster((self.month_of == position).astype(float))[self.grid.mask])

    def volumes(self) -> np.ndarray:
        """Events per month and kind, (months, kinds)."""
        flat = self.month_of * len(self.kinds) + self.kind_of
        return np.bincount(flat, minlength=len(self.months) * len(self.kinds)).reshape(
            len(self.months), len(self.kinds)
        )

    def kde(self) -> np.ndarray:
        return kde_raster(self.grid, self.x, self.y, kde_bandwidth(self.x, self.y, self.grid.cell))


def _normalised(raster: np.ndarray, mask: np.ndarray) -> np.ndarray:
    total = float(raster[mask].sum())
    return raster / total if total > 0 else np.zeros_like(raster, dtype=float)


def model_raster(history: History, params: ModelParams, kde: np.ndarray | None = None) -> np.ndarray:
    """Scores of one candidate on the raster, from the events of `history`.

    Each event weighs 0.5^(age / half_life) (age in months, counted from the latest month), times its kind's
    recent-to-usual volume ratio when type_level is set; the weighted counts are smoothed, normalised, and
    the near-repeat and KDE terms added. A KDE weight of 1 returns the KDE itself, so that member ranks
    exactly like the `kde` baseline.
    """
    if params.kde_weight >= 1:
        return history.kde() if kde is None else kde
    mask = history.grid.mask
    age = (history.months.max() - history.months).astype(int)  # months before the latest one
    by_month = 0.5 ** (age / params.half_life) if params.half_life else np.ones(len(age))
    weights = by_month[history.month_of]
    if params.type_level:
        volumes = history.volumes()
        short = 0.5 ** (age / params.type_level)
        recent = short @ volumes / short.sum()
        usual = by_month @ volumes / by_month.sum()
        weights = weights * ((recent + 1.0) / (usual + 1.0))[history.kind_of]
    base = history.raster(weights)
    if params.sigma:
        base = gaussian_filter(base, params.sigma, mode="constant", truncate=3.0)
    score = _normalised(base, mask)
    if params.near_repeat:
        last = history.raster((history.month_of == len(history.months) - 1).astype(float))
        last = gaussian_filter(last, 1.0, mode="constant", truncate=3.0)
        score = score + params.near_repeat * _normalised(last, mask)
    if params.kde_weight:
        kde = history.kde() if kde is None else kde
        score = (1 - params.kde_weight) * _normalised(score, mask) + params.kde_weight * _normalised(
            kde, mask
        )
    return score


# --------------------------------------------------------------------------------------------------------
# Metrics


def rank_cells(scores: np.ndarray) -> np.ndarray:
    """Cell positions from the highest score down; equal scores (to 12 significant digits) by position."""
    scores = np.asarray(scores, dtype=float)
    top = float(np.abs(scores).max()) if scores.size else 0.0
    rounded = np.round(scores / top, 12) if top > 0 else np.zeros_like(scores)
    return np.lexsort((np.arange(scores.size), -rounded))


def _top_k(cells: int, coverage: float) -> int:
    return max(1, math.ceil(coverage * cells - 1e-9))


def hit_metrics(
    scores: np.ndarray, test_counts: np.ndarray, coverage: Sequence[float] = DEFAULT_COVERAGE
) -> list[dict[str, Any]]:
    """Hit rate, PAI and PEI* of ranking the cells by `scores`, for test events per cell `test_counts`.

    Values are None where undefined (no test event in the grid). One dict per coverage share.
    """
    test = np.asarray(test_counts, dtype=float)
    cells = test.size
    order = rank_cells(scores)
    best = np.sort(test)[::-1]
    total = float(test.sum())
    out = []
    for c in coverage:
        k = _top_k(cells, c)
        n = float(test[order[:k]].sum())
        n_star = float(best[:k].sum())
        hit_rate = n / total if total else None
        out.append(
            {
                "coverage": c,
                "cells": k,
                "hits": int(round(n)),
                "hit_rate": hit_rate,
                "pai": hit_rate / (k / cells) if hit_rate is not None else None,
                "pei_star": n / n_star if n_star else None,
            }
        )
    return out


def check_coverage(coverage: Sequence[float]) -> tuple[float, ...]:
    values = tuple(float(c) for c in coverage)
    if not values or any(not 0 < c <= 1 for c in values):
        raise BacktestError(f"coverage shares must lie in (0, 1], not {list(coverage)}")
    return values


# --------------------------------------------------------------------------------------------------------
# Choosing the model on training months


class Scoreboard(Protocol):
    """What `choose_model` reads of a validation, each an (origins, coverages) array: the hits of a candidate
    and `best`, the most any ranking could hit (n*)."""

    best: np.ndarray

    def hits(self, params: ModelParams) -> np.ndarray: ...


@dataclass
class _Origin:
    month: np.datetime64
    past: History
    truth: np.ndarray  # events per study cell in the origin month
    kde: np.ndarray


class Validation:
    """Rolling-origin evaluation on training months: each of the last `VALIDATION_ORIGINS` months (with at
    least `MIN_HISTORY` months before it) is predicted from the months at least `horizon` months earlier, so
    the validation gap matches the test's. Hits are (origins, coverages) arrays, cached per candidate."""

    def __init__(self, history: History, horizon: int, coverage: Sequence[float]) -> None:
        self.coverage = tuple(coverage)
        self.origins: list[_Origin] = []
        for i in range(len(history.months)):
            before = _months_before(history, i, horizon)
            if before >= MIN_HISTORY:
                past = history.upto(before)
                truth = history.in_month(i)
                self.origins.append(_Origin(history.months[i], past, truth, past.kde()))
        self.origins = self.origins[-VALIDATION_ORIGINS:]
        self.events = np.array([o.truth.sum() for o in self.origins])
        self.best = np.array(
            [
                [np.sort(o.truth)[::-1][: _top_k(o.truth.size, c)].sum() for c in coverage]
                for o in self.origins
            ],
            dtype=float,
        ).reshape(len(self.origins), len(self.coverage))
        self._cache: dict[ModelParams, np.ndarray] = {}

    @property
    def months(self) -> list[str]:
        return [str(o.month) for o in self.origins]

    def hits(self, params: ModelParams) -> np.ndarray:
        """Hits per origin and coverage of a candidate (`COUNT_PARAMS`, `KDE_PARAMS`: the baselines)."""
        if params not in self._cache:
            rows = []
            for o in self.origins:
                order = rank_cells(model_raster(o.past, params, o.kde)[o.past.grid.mask])
                captured = np.cumsum(o.truth[order])
                rows.append([captured[_top_k(o.truth.size, c) - 1] for c in self.coverage])
            self._cache[params] = np.array(rows, dtype=float).reshape(len(self.origins), len(self.coverage))
        return self._cache[params]

    def pei(self, params: ModelParams) -> list[float]:
        """PEI* per coverage, pooled over the origins."""
        return [round(float(v), 4) for v in _pooled_pei(self, params)]


def _months_before(history: History, origin: int, horizon: int) -> int:
    """How many history months lie at least `horizon` months before month `origin`."""
    cutoff = history.months[origin] - np.timedelta64(horizon, "M")
    return int(np.searchsorted(history.months, cutoff, side="right"))


def _pooled_pei(board: Scoreboard, params: ModelParams) -> np.ndarray:
    return np.asarray(board.hits(params).sum(axis=0) / np.maximum(board.best.sum(axis=0), 1))


def margins(board: Scoreboard, params: ModelParams, than: ModelParams) -> np.ndarray:
    """PEI* of `params` minus PEI* of `than`, per validation origin and coverage."""
    return np.asarray((board.hits(params) - board.hits(than)) / np.maximum(board.best, 1))


def better_baseline(board: Scoreboard) -> ModelParams:
    """The baseline that validates better: of `count` and `kde`, the one whose worst coverage (PEI* pooled
    over the origins) falls least short of the better of the two; `count` on a tie."""
    count, kde = _pooled_pei(board, COUNT_PARAMS), _pooled_pei(board, KDE_PARAMS)
    top = np.maximum(count, kde)
    return KDE_PARAMS if (kde - top).min() > (count - top).min() else COUNT_PARAMS


@dataclass(frozen=True)
class Step:
    """One move of the search: `params` against the candidate it would replace, on the validation origins."""

    params: ModelParams
    gain: float  # mean margin (PEI*) over origins and coverages
    worst: float  # worst margin (PEI*) at one origin and coverage
    extra: tuple[int, ...]  # extra hits per coverage, summed over origins
    reaches_baseline: bool  # pooled over origins, at least the better baseline's hits at every coverage
    accepted: bool = False

    @property
    def qualifies(self) -> bool:
        """Loses nowhere, gains somewhere, and reaches the better baseline at every coverage."""
        return self.worst >= 0 and self.gain > 0 and self.reaches_baseline

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.params.label, "gain": round(self.gain, 5), "worst_margin": round(self.worst, 4),
                "extra_hits": list(self.extra), "reaches_better_baseline": self.reaches_baseline,
                "qualifies": self.qualifies, "accepted": self.accepted}  # fmt: skip


def _step(board: Scoreboard, current: ModelParams, params: ModelParams, baseline: np.ndarray) -> Step:
    margin = margins(board, params, current)
    extra = (board.hits(params) - board.hits(current)).sum(axis=0)
    return Step(
        params,
        float(margin.mean()) if margin.size else 0.0,
        float(margin.min()) if margin.size else 0.0,
        tuple(int(round(x)) for x in extra),
        bool((board.hits(params).sum(axis=0) >= baseline).all()),
    )


class Choice(NamedTuple):
    """What `choose_model` chose: the parameters, the fallback it started from, the steps it took, and every
    change it tried from the fallback (for the report)."""

    params: ModelParams
    fallback: ModelParams
    steps: list[Step]
    moves: list[Step]


def choose_model(board: Scoreboard | None) -> Choice:
    """The model by the rule of the module docstring: start at the baseline that validates better; change one
    field at a time (see SEARCH), keeping the change with the largest mean margin among those that lose to
    the current candidate at no origin and no coverage, gain somewhere, and reach the better baseline at
    every coverage when pooled over the origins; stop when none qualifies.

    Without validation origins the model is `count`.
    """
    if board is None or board.best.shape[0] == 0:
        return Choice(COUNT_PARAMS, COUNT_PARAMS, [], [])
    fallback = better_baseline(board)
    baseline = np.maximum(board.hits(COUNT_PARAMS).sum(axis=0), board.hits(KDE_PARAMS).sum(axis=0))
    current, steps, first = fallback, [], None
    while True:
        moves = [
            _step(board, current, replace(current, **{name: value}), baseline)
            for name, values in SEARCH.items()
            for value in values
            # at the KDE alone only its weight changes anything
            if getattr(current, name) != value and (name == "kde_weight" or current.kde_weight < 1)
        ]
        first = moves if first is None else first
        good = [m for m in moves if m.qualifies]
        if not good:
            break
        best = max(good, key=lambda m: m.gain)  # the first of equals: SEARCH order, milder values first
        steps.append(replace(best, accepted=True))
        current = best.params  # each step gains in total, so the search cannot return to a candidate
    first = [replace(m, accepted=bool(steps) and m.params == steps[0].params) for m in first]
    return Choice(current, fallback, steps, first)
