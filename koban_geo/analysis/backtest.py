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

    >>> hit_metrics(np.array([3.0, 2.0, 1.0, 0.0]), np.array([1, 5, 0, 2]), (0.5,))[0]["hit_rate"]
    0.75
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import duckdb
import numpy as np
import shapely
from pyproj import Transformer
from scipy.ndimage import gaussian_filter

from koban_geo.ingest.batch import IngestError
from koban_geo.ingest.dialect import normalise_header
from koban_geo.ingest.opendata import POLICEUK_COLUMNS
from koban_geo.ingest.readers import register_csv_view, sniff, utf8_copy
from koban_geo.store.crs import utm_epsg
from koban_geo.store.sql import query

DEFAULT_CELL = 250.0
DEFAULT_COVERAGE = (0.01, 0.05, 0.1)
METHODS = ("model", "count", "kde")
# Columns a police.uk street-level file must have for a backtest (the others are not read).
_NEEDED = ("month", "lon", "lat", "crime_type")
# Rolling-origin validation: up to this many origins, each with at least this many earlier months.
VALIDATION_ORIGINS = 6
MIN_HISTORY = 3


class BacktestError(ValueError):
    """The backtest cannot run on this input; the message names the file or the setting and why."""


class Events(NamedTuple):
    """Point events: lon/lat in EPSG:4326, month as datetime64[M], and a kind (crime type or theme)."""

    lon: np.ndarray
    lat: np.ndarray
    month: np.ndarray
    kind: np.ndarray

    @property
    def size(self) -> int:
        return int(self.lon.size)

    def select(self, keep: np.ndarray) -> Events:
        return Events(self.lon[keep], self.lat[keep], self.month[keep], self.kind[keep])


def _events_from(columns: dict[str, Any], keep: np.ndarray) -> Events:
    """Events from fetched columns lon, lat, month (months since 1970-01) and kind."""
    return Events(
        np.asarray(columns["lon"], dtype=float)[keep],
        np.asarray(columns["lat"], dtype=float)[keep],
        np.asarray(columns["month"], dtype=np.int64)[keep].astype("datetime64[M]"),
        np.asarray(columns["kind"], dtype=object)[keep],
    )


# --------------------------------------------------------------------------------------------------------
# Reading


def _read_policeuk_file(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[Events, int]:
    file = path.name
    try:
        dialect = sniff(path, file)
    except IngestError as exc:
        raise BacktestError(str(exc)) from exc
    norm = [normalise_header(h) for h in dialect.headers]
    picks: dict[str, int] = {}
    missing = []
    for key in _NEEDED:
        wanted = normalise_header(POLICEUK_COLUMNS[key])
        if wanted in norm:
            picks[key] = norm.index(wanted)
        else:
            missing.append(repr(POLICEUK_COLUMNS[key]))
    if missing:
        raise BacktestError(
            f"{file}:1: not a police.uk street-level CSV: no column {', '.join(missing)} "
            f"(headers: {', '.join(dialect.headers)})"
        )
    with utf8_copy(path, dialect.encoding) as readable:
        try:
            register_csv_view(con, file, dialect, readable, picks, "_backtest_csv")
            columns = query(con, "backtest_policeuk").fetchnumpy()
        except IngestError as exc:
            raise BacktestError(str(exc)) from exc
        except duckdb.Error as exc:
            raise BacktestError(f"{file}: cannot be read as CSV ({str(exc).splitlines()[0][:200]})") from exc
        finally:
            con.execute("DROP VIEW IF EXISTS _backtest_csv")
    ok = np.asarray(columns["ok"], dtype=bool)
    if ok.size == 0:
        raise BacktestError(f"{file}: no rows (only a header?)")
    return _events_from(columns, ok), int((~ok).sum())


def _read_policeuk(paths: Sequence[Path | str]) -> tuple[Events, int]:
    if not paths:
        raise BacktestError("no files given")
    parts, skipped = [], 0
    with duckdb.connect(":memory:") as con:
        for path in paths:
            events, dropped = _read_policeuk_file(con, Path(path))
            parts.append(events)
            skipped += dropped
    return Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in Events._fields)), skipped


def read_policeuk(paths: Sequence[Path | str]) -> Events:
    """Events of data.police.uk street-level CSV files: (lon, lat, month, crime_type) arrays.

    Rows without usable coordinates (blank, out of range, or 0,0) or without a YYYY-MM month are skipped.
    A file without the Month, Longitude, Latitude and Crime type columns raises BacktestError.
    """
    return _read_policeuk(paths)[0]


def concern_events(
    con: duckdb.DuckDBPyConnection,
    months: Sequence[str],
    *,
    include_sensitive: bool = False,
    dedupe_groups: bool = True,
) -> Events:
    """The concerns of the store in `months` ('YYYY-MM') as events, the theme as the kind (see backtest_store)."""
    params = {"months": list(months), "sensitive": include_sensitive, "groups": dedupe_groups}
    columns = query(con, "backtest_concerns", params).fetchnumpy()
    return _events_from(columns, np.ones(len(columns["lon"]), dtype=bool))


# --------------------------------------------------------------------------------------------------------
# The grid


@dataclass(frozen=True)
class Grid:
    """A raster of square cells in a metric CRS; `mask` marks the study cells (rows from the south)."""

    crs: str
    cell: float
    x0: float  # south-west corner of the raster
    y0: float
    mask: np.ndarray  # (rows, columns) bool

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.mask.shape
        return int(rows), int(cols)

    @property
    def cells(self) -> int:
        return int(self.mask.sum())

    @property
    def area_m2(self) -> float:
        return self.cells * self.cell**2

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        transformer = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        x, y = transformer.transform(lon, lat)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def raster_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat raster index (row-major) of each point, -1 outside the raster."""
        rows, cols = self.shape
        ix = np.floor((x - self.x0) / self.cell).astype(np.int64)
        iy = np.floor((y - self.y0) / self.cell).astype(np.int64)
        inside = (ix >= 0) & (ix < cols) & (iy >= 0) & (iy < rows)
        return np.where(inside, iy * cols + ix, -1)

    def in_study(self, index: np.ndarray) -> np.ndarray:
        return np.asarray((index >= 0) & self.mask.ravel()[np.maximum(index, 0)])

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = self.shape
        cx = self.x0 + (np.arange(cols) + 0.5) * self.cell
        cy = self.y0 + (np.arange(rows) + 0.5) * self.cell
        return np.meshgrid(cx, cy)

    def info(self) -> dict[str, Any]:
        rows, cols = self.shape
        return {
            "crs": self.crs,
            "cell_m": self.cell,
            "cells": self.cells,
            "area_km2": round(self.area_m2 / 1e6, 4),
            "raster": {"x0": self.x0, "y0": self.y0, "columns": cols, "rows": rows},
            "rule": "square cells aligned to multiples of cell_m in crs whose centre lies in the convex hull "
            "of the training points; cell ids run west to east, then south to north",
        }


def study_grid(lon: np.ndarray, lat: np.ndarray, cell: float = DEFAULT_CELL) -> Grid:
    """The study grid of training points: UTM zone of their median lon/lat, cells centred in their hull."""
    if not cell > 0:
        raise BacktestError(f"cell must be a positive number of metres, not {cell}")
    if len(lon) == 0:
        raise BacktestError("no training events with coordinates")
    try:
        crs = utm_epsg(float(np.median(lon)), float(np.median(lat)))
    except ValueError as exc:
        raise BacktestError(f"the training points: {exc}") from exc
    probe = Grid(crs, float(cell), 0.0, 0.0, np.zeros((1, 1), dtype=bool))
    x, y = probe.project(lon, lat)
    x0, y0 = math.floor(x.min() / cell) * cell, math.floor(y.min() / cell) * cell
    cols = int((x.max() - x0) // cell) + 1
    rows = int((y.max() - y0) // cell) + 1
    if rows * cols > 25_000_000:
        raise BacktestError(
            f"{rows * cols} raster cells: the training points are spread too far for {cell} m"
        )
    unique = np.unique(np.column_stack([x, y]), axis=0)
    hull = shapely.MultiPoint(unique).convex_hull
    grid = Grid(crs, float(cell), float(x0), float(y0), np.zeros((rows, cols), dtype=bool))
    cx, cy = grid.centres()
    mask = shapely.intersects_xy(hull, cx, cy) if hull.area > 0 else np.zeros_like(cx, dtype=bool)
    if not mask.any():
        raise BacktestError(
            f"no {cell:g} m cell has its centre inside the convex hull of the training points: "
            "use a smaller --cell (or more training points)"
        )
    return Grid(crs, float(cell), float(x0), float(y0), np.asarray(mask, dtype=bool))


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


def _check_coverage(coverage: Sequence[float]) -> tuple[float, ...]:
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
    coverage = _check_coverage(coverage)
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
    train, train_skipped = _read_policeuk(train_paths)
    test, test_skipped = _read_policeuk(test_paths)
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
