"""Near repeats: the Knox test of space-time interaction, reported as Ratcliffe's Near Repeat Calculator does.

After a burglary, are further burglaries close by more frequent soon afterwards than if times had nothing to
do with places? Every pair of events falls in one distance band x time band cell; the observed pair counts
are compared with Monte Carlo permutations of the event times over the event places (the places, and so
the pairs per distance band, stay fixed; the times, and so the pairs per time band, are shuffled):

    Knox ratio = observed pairs / mean pairs over the permutations
    p          = (permutations with at least the observed pairs + 1) / (permutations + 1)

as in the Near Repeat Calculator (Ratcliffe 2009; Johnson et al. 2007). The last row and column hold the
pairs beyond the farthest distance band and the longest time band.

Bands are inclusive at their upper edge, as the calculator's "0 to 100 m, 101 to 200 m" and "0 to 7 days,
8 to 14 days": distance band k holds distances in (edge[k-1], edge[k]] (the first [0, edge[1]]); an edge
list starting 0, 0 gives a band of distance 0 only (the calculator's "same location"). Days are the whole
days between two reports (floor of the hours between them / 24), so 0-7 days is less than 8 x 24 hours.

**What snapping does.** The store holds snapped places (centres of 100 m squares; 500 m for sensitive
themes) and hourly times. Distances are measured between square centres, so they take only the values
0, 100, 141, 200, 224, ... m: two reports in one square are 0 m apart whatever their real distance (up to
141 m), reports in edge-neighbouring squares exactly 100 m. The 0-100 m band therefore holds same-square
and neighbouring-square pairs, and a band finer than the snapping cell cannot be measured: use bands of at
least the snapping cell (100 m; 500 m when a sensitive theme is counted). Hourly times do not limit day bands.

With unit "groups" each near-duplicate group is one event (at its first report), so one burglary reported
three times is not three repeats; the cost is that a true repeat in the same square within the grouping
window (3 days by default) is merged with the first.

Pairs within the farthest distance band are found with a KD-tree (scipy.spatial.cKDTree.query_pairs) and
each permutation is a few vectorised passes over them; pairs beyond it are counted from the sorted times,
which permutations do not change. 50,000 burglaries over 400 km2 (about 1.5 million pairs within 400 m)
take about 1.5 s for 99 permutations (bench/analyst.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
from numpy.typing import ArrayLike, NDArray

from koban_geo.analysis.grid import Filter
from koban_geo.store.sql import query

DEFAULT_DISTANCE_BANDS: tuple[float, ...] = (0, 100, 200, 300, 400)  # metres: 0-100, 101-200, ...
DEFAULT_DAY_BANDS: tuple[int, ...] = (0, 7, 14, 21, 28)  # whole days: 0-7, 8-14, 15-21, 22-28
DEFAULT_PERMUTATIONS = 99
MAX_PAIRS = 60_000_000  # pairs within the farthest band held at once (about 1 GB of working memory)
_TOLERANCE_M = 1e-6


class NearRepeatError(ValueError):
    """The near-repeat question cannot be answered as asked (bad bands, too many pairs)."""


@dataclass(frozen=True)
class KnoxResult:
    """A Knox table: rows are distance bands (+ beyond), columns time bands (+ beyond), as the calculator
    prints it. `expected` is the mean over the permutations, `simulated` every permuted table
    (permutations x rows x columns); `cell_keys` each cell's key for the cell key method when the events'
    record keys were given (the sum over its pairs of both events' keys, mod 256)."""

    distance_edges: tuple[float, ...]
    day_edges: tuple[int, ...]
    observed: NDArray[np.int64]
    expected: NDArray[np.float64]
    simulated: NDArray[np.int64]
    permutations: int
    events: int
    seed: int | None
    cell_keys: NDArray[np.int64] | None = None

    @property
    def at_least(self) -> NDArray[np.int64]:
        """Permutations with at least the observed pairs, per cell."""
        return np.asarray((self.simulated >= self.observed).sum(axis=0), dtype=np.int64)

    def p_of(self, table: NDArray[Any]) -> NDArray[np.float64]:
        """The Monte Carlo p-value of another table of pair counts (e.g. the published one) against the same
        permutations."""
        above = (self.simulated >= np.asarray(table)[None, :, :]).sum(axis=0)
        return np.asarray((above + 1.0) / (self.permutations + 1.0), dtype=np.float64)

    @property
    def ratio(self) -> NDArray[np.float64]:
        """Observed / expected pairs (NaN where no pairs are expected)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expected > 0, self.observed / self.expected, np.nan)

    @property
    def p(self) -> NDArray[np.float64]:
        """Monte Carlo p-value of more pairs than chance: (at_least + 1) / (permutations + 1)."""
        return np.asarray((self.at_least + 1.0) / (self.permutations + 1.0), dtype=np.float64)

    def distance_labels(self) -> list[str]:
        return band_labels(self.distance_edges, "m")

    def day_labels(self) -> list[str]:
        return band_labels(self.day_edges, "days")


def band_labels(edges: tuple[float, ...] | tuple[int, ...], unit: str) -> list[str]:
    """'0-100', '101-200', ..., 'more than 400' (units appended), as the calculator labels its bands."""
    out: list[str] = []
    for k in range(1, len(edges)):
        lo, hi = edges[k - 1], edges[k]
        if hi == 0:
            out.append(f"0 {unit} (same {'square' if unit == 'm' else 'day'})")
        elif k == 1:
            out.append(f"0-{_num(hi)} {unit}")
        else:
            out.append(f"{_num(lo + 1)}-{_num(hi)} {unit}")
    out.append(f"more than {_num(edges[-1])} {unit}")
    return out


def _num(value: float) -> str:
    return f"{value:g}"


def checked_edges(edges: ArrayLike, what: str, *, integer: bool = False) -> tuple[float, ...]:
    """Band edges: start at 0, then increasing (a second 0 makes a band of zero only); at least one band."""
    values = [float(v) for v in np.asarray(edges, dtype=float).ravel()]
    if len(values) < 2 or values[0] != 0:
        raise NearRepeatError(f"{what} bands must start at 0 and have at least one more edge, not {values}")
    rest = values[2:] if values[1] == 0 else values[1:]
    if values[1] == 0 and len(values) < 3:
        raise NearRepeatError(f"{what} bands: after 0, 0 give at least one more edge")
    if any(not math.isfinite(v) or v <= 0 for v in rest) or any(
        b <= a for a, b in zip(rest, rest[1:], strict=False)
    ):
        raise NearRepeatError(f"{what} band edges must increase: {values}")
    if integer and any(v != int(v) for v in values):
        raise NearRepeatError(f"{what} band edges must be whole numbers: {values}")
    return tuple(int(v) for v in values) if integer else tuple(values)


def _pairs_by_time(sorted_hours: NDArray[np.int64], day_edges: tuple[int, ...]) -> NDArray[np.int64]:
    """All pairs (any distance) per time band (+ beyond), from the sorted times: a permutation of the times
    over the places does not change them."""
    n = sorted_hours.size
    total = n * (n - 1) // 2
    below = []  # pairs less than (upper + 1) whole days apart, per band
    index = np.arange(n, dtype=np.int64)
    for upper in day_edges[1:]:
        limit = (int(upper) + 1) * 24
        ends = np.searchsorted(sorted_hours, sorted_hours + limit, side="left")
        below.append(int((ends - index - 1).sum()))
    cumulative = np.array([*below, total], dtype=np.int64)
    return np.diff(cumulative, prepend=0)


def _keys_by_time(
    sorted_hours: NDArray[np.int64], sorted_keys: NDArray[np.int64], day_edges: tuple[int, ...]
) -> NDArray[np.int64]:
    """Over all pairs (any distance) per time band (+ beyond), the sum of both events' keys, from the sorted
    times and prefix sums of the keys (as _pairs_by_time counts them)."""
    n = sorted_hours.size
    index = np.arange(n, dtype=np.int64)
    prefix = np.concatenate([[0], np.cumsum(sorted_keys)])
    total = (n - 1) * int(sorted_keys.sum())
    below = []
    for upper in day_edges[1:]:
        ends = np.searchsorted(sorted_hours, sorted_hours + (int(upper) + 1) * 24, side="left")
        partners = ends - index - 1
        below.append(int((partners * sorted_keys + prefix[ends] - prefix[index + 1]).sum()))
    cumulative: NDArray[np.int64] = np.array([*below, total], dtype=np.int64)
    return np.asarray(np.diff(cumulative, prepend=0), dtype=np.int64)


def knox_test(
    x: ArrayLike,
    y: ArrayLike,
    hours: ArrayLike,
    *,
    distance_edges: ArrayLike = DEFAULT_DISTANCE_BANDS,
    day_edges: ArrayLike = DEFAULT_DAY_BANDS,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = None,
    keys: ArrayLike | None = None,
) -> KnoxResult:
    """The Knox table of events at metric places (x, y) and whole-hour times, with `permutations` Monte
    Carlo permutations of the times (seeded: the same seed gives the same table). With the events' record
    `keys` (0..255) each cell also gets its cell key (KnoxResult.cell_keys), for public releases.

    >>> r = knox_test([0, 0, 5000], [0, 50, 0], [0, 24, 48], distance_edges=(0, 100), day_edges=(0, 7),
    ...               permutations=9, seed=1)
    >>> r.observed.tolist()
    [[1, 0], [2, 0]]
    """
    d_edges = checked_edges(distance_edges, "distance")
    t_edges = tuple(int(v) for v in checked_edges(day_edges, "time", integer=True))
    if permutations < 1:
        raise NearRepeatError(f"permutations must be at least 1, not {permutations}")
    xs = np.asarray(x, dtype=float).ravel()
    ys = np.asarray(y, dtype=float).ravel()
    ts = np.asarray(hours, dtype=np.int64).ravel()
    if not xs.size == ys.size == ts.size:
        raise NearRepeatError(f"{xs.size} x, {ys.size} y and {ts.size} times: one each per event")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise NearRepeatError("event places must be finite")
    nd, nt = len(d_edges) - 1, len(t_edges) - 1
    shape = (nd + 1, nt + 1)
    n = xs.size
    ks = None if keys is None else np.asarray(keys, dtype=np.int64).ravel()
    if ks is not None and ks.size != n:
        raise NearRepeatError(f"{n} events but {ks.size} record keys")
    if n < 2:
        zero = np.zeros(shape, dtype=np.int64)
        return KnoxResult(d_edges, t_edges, zero, zero.astype(float), np.zeros((permutations, *shape), np.int64),
                          permutations, n, seed, None if ks is None else zero)  # fmt: skip

    from scipy.spatial import cKDTree

    reach = d_edges[-1] + _TOLERANCE_M
    # events in strips as wide as the farthest band, south to north: a pair's two events sit close together
    # in memory, which makes the gathers per permutation about 1.5x faster (the permutation test does not
    # depend on the order of the events)
    strip = np.lexsort((ys, np.floor((xs - xs.min()) / max(reach, 1.0))))
    xs, ys, ts = xs[strip], ys[strip], ts[strip]
    ks = None if ks is None else ks[strip]
    pairs = cKDTree(np.column_stack([xs, ys])).query_pairs(reach, output_type="ndarray")
    if len(pairs) > MAX_PAIRS:
        raise NearRepeatError(
            f"{len(pairs):,} pairs of events lie within {d_edges[-1]:g} m (at most {MAX_PAIRS:,}): use a "
            "shorter period, fewer areas or a smaller farthest distance band"
        )
    i = pairs[:, 0].astype(np.intp)
    j = pairs[:, 1].astype(np.intp)
    dx, dy = xs[i] - xs[j], ys[i] - ys[j]
    squared = np.square(np.asarray(d_edges[1:])) + _TOLERANCE_M  # compare squares: no square roots
    dband = np.searchsorted(squared, dx * dx + dy * dy, side="left")
    del dx, dy
    # by distance band (nearest first), then first event, then second: one sort of a single int64 key
    order = np.argsort((dband.astype(np.int64) * n + i) * n + j)
    bounds = np.searchsorted(dband[order], np.arange(nd + 1))  # band b is order[bounds[b]:bounds[b + 1]]
    i, j = i[order[: bounds[nd]]], j[order[: bounds[nd]]]  # pairs beyond the farthest band: dropped
    del pairs, order, dband
    # each band's first events run in order, so their times are np.repeat(times, per_event): sequential
    per_event = [np.bincount(i[bounds[b] : bounds[b + 1]], minlength=n) for b in range(nd)]
    j_band = [j[bounds[b] : bounds[b + 1]] for b in range(nd)]
    del i, j
    span = int(ts.max() - ts.min())
    small = np.int16 if span < 2**15 else np.int32 if span < 2**31 else np.int64  # narrower is faster
    rel = (ts - ts.min()).astype(small)  # hours since the first event
    limits = [(int(upper) + 1) * 24 for upper in t_edges[1:]]  # whole days <= upper  <=>  hours < limit
    by_time = _pairs_by_time(np.sort(rel).astype(np.int64), t_edges)
    gap = np.empty(max((len(part) for part in j_band), default=0), dtype=rel.dtype)

    def table(times: NDArray[Any]) -> NDArray[np.int64]:
        """Pairs per band for one assignment of times to events: per distance band the pairs' hour gaps, then
        one count of gaps under each time limit (compare-and-count passes are the fast way here)."""
        within = np.zeros((nd, nt + 1), dtype=np.int64)
        for b in range(nd):
            part = gap[: j_band[b].size]
            np.subtract(np.repeat(times, per_event[b]), np.take(times, j_band[b]), out=part)
            np.abs(part, out=part)
            below = [np.count_nonzero(part < limit) for limit in limits]
            within[b] = np.diff([0, *below, part.size])
        return np.vstack([within, by_time - within.sum(axis=0)])

    def cell_keys(k: NDArray[np.int64]) -> NDArray[np.int64]:
        """Per cell of the observed table, the sum over its pairs of both events' record keys, mod 256."""
        within = np.zeros((nd, nt + 1), dtype=np.int64)
        for b in range(nd):
            first = np.repeat(rel, per_event[b]).astype(np.int64)
            band = np.searchsorted(limits, np.abs(first - rel[j_band[b]]), side="right")
            both = np.repeat(k, per_event[b]) + k[j_band[b]]
            within[b] = np.bincount(band, weights=both, minlength=nt + 1).astype(np.int64)
        order = np.argsort(rel, kind="stable")
        all_pairs = _keys_by_time(rel[order].astype(np.int64), k[order], t_edges)
        return np.asarray(np.vstack([within, all_pairs - within.sum(axis=0)]) % 256, dtype=np.int64)

    observed = table(rel)
    rng = np.random.default_rng(seed)
    simulated = np.stack([table(rel[rng.permutation(n)]) for _ in range(permutations)])
    return KnoxResult(d_edges, t_edges, observed, simulated.mean(axis=0), simulated, permutations, n, seed,
                      None if ks is None else cell_keys(ks))  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# From the store, through the audience gate
# ---------------------------------------------------------------------------------------------------------


@dataclass
class NearRepeatReport:
    """One near-repeat table for one audience: `rows` (one per cell, calculator order) and `meta`."""

    rows: list[dict[str, Any]]
    meta: dict[str, Any]
    sentences: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"meta": self.meta, "rows": self.rows, "sentences": self.sentences}


@dataclass(frozen=True)
class Events:
    """The selected events: square centres in the store's metric CRS, whole hours since 1970, the snapping
    grid (metres; 0 = an anonymous point) and the record key (0..255) of each."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    hours: NDArray[np.int64]
    snap_m: NDArray[np.int64]
    keys: NDArray[np.int64]


def store_events(con: duckdb.DuckDBPyConnection, flt: Filter) -> Events:
    """The events of the filter: one per near-duplicate group when flt.unit is "groups" (its first report)."""
    got = query(con, "near_repeat_events", flt.params()).fetchnumpy()
    return Events(
        np.asarray(got["x"], dtype=float),
        np.asarray(got["y"], dtype=float),
        np.asarray(got["hour"], dtype=np.int64),
        np.asarray(got["snap_m"], dtype=np.int64),
        np.asarray(got["record_key"], dtype=np.int64),
    )


def snapping_note(snap_sizes: NDArray[np.int64], distance_edges: tuple[float, ...]) -> str:
    """What the stored snapping does to the distance bands, in one or two sentences."""
    grid = int(snap_sizes.max()) if snap_sizes.size else 0
    if grid <= 0:
        return ("Places are anonymous points (police.uk style): distances are between those points, so "
                "pairs at one point have distance 0. Times are to the hour.")  # fmt: skip
    first = next((e for e in distance_edges[1:] if e > 0), distance_edges[-1])
    note = (
        f"Places are snapped to {grid} m squares: two reports in one square are 0 m apart and reports in "
        f"edge-neighbouring squares {grid} m apart, so the first band holds same-square pairs"
        + (" and neighbouring-square pairs" if first >= grid else "")
        + f". Bands finer than {grid} m cannot be told apart; use bands of at least {grid} m. "
        "Times are to the hour; days are whole days between reports."
    )
    if first < grid:
        note += f" Warning: the first band ({first:g} m) is finer than the snapping ({grid} m)."
    return note


def near_repeat(
    con: duckdb.DuckDBPyConnection,
    settings: Any,
    flt: Filter,
    *,
    audience: str = "public",
    distance_edges: ArrayLike = DEFAULT_DISTANCE_BANDS,
    day_edges: ArrayLike = DEFAULT_DAY_BANDS,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = None,
    alpha: float = 0.05,
) -> NearRepeatReport:
    """The Knox table of the selected concerns (e.g. Filter(themes=("burglary",))) for one audience.

    Every row passes koban_geo.privacy.audience.release: for public and council, pair counts under k are
    hidden (with complementary suppression within each distance band) and the others perturbed by their cell
    keys (the sum over a cell's pairs of both events' record keys), as every public count is; the Knox ratio
    and p of a shown cell are those of its published count, a hidden cell has none, and the expected counts
    are not published (with them, a band's true total would be known, as permutations keep it). With fewer
    than k events nothing is shown. Sensitive themes are counted only for officers and analysts who name them.
    """
    import pandas as pd

    from koban_geo.analysis.risk import bh_adjusted
    from koban_geo.privacy.audience import Policy, audience_filter, release

    policy = Policy.for_audience(audience, settings)
    flt = audience_filter(flt, policy)
    if not flt.themes:
        raise NearRepeatError("no theme left to count for this audience (sensitive themes are not public)")
    events = store_events(con, flt)
    aggregates_only = policy.audience.aggregates_only
    keys = events.keys if aggregates_only else None  # cell keys: for public counts only
    result = knox_test(events.x, events.y, events.hours, distance_edges=distance_edges, day_edges=day_edges,
                       permutations=permutations, seed=seed, keys=keys)  # fmt: skip
    nd, nt = len(result.distance_edges) - 1, len(result.day_edges) - 1
    d_labels, t_labels = result.distance_labels(), result.day_labels()
    ratio, p = result.ratio, result.p
    tested = np.zeros(result.observed.shape, dtype=bool)
    tested[:nd, :nt] = True
    d_lo = np.repeat(np.asarray(result.distance_edges, dtype=float), nt + 1)
    d_hi = np.repeat(np.asarray([*result.distance_edges[1:], np.nan], dtype=float), nt + 1)
    t_lo = np.tile(np.asarray(result.day_edges, dtype=float), nd + 1)
    t_hi = np.tile(np.asarray([*result.day_edges[1:], np.nan], dtype=float), nd + 1)
    frame = pd.DataFrame(
        {
            "distance": np.repeat(d_labels, nt + 1),
            "time": np.tile(t_labels, nd + 1),
            "distance_from_m": d_lo,
            "distance_to_m": d_hi,
            "days_from": t_lo,
            "days_to": t_hi,
            "pairs": result.observed.ravel(),
            "expected": result.expected.ravel(),
            "knox_ratio": ratio.ravel(),
            "p": p.ravel(),
            "tested": tested.ravel(),
        }
    )
    shown = np.ones(len(frame), dtype=bool)
    if aggregates_only:
        assert result.cell_keys is not None
        frame["ckey"] = result.cell_keys.ravel()
        released = release(frame, policy.audience, settings, count="pairs", groups=["distance"], theme=None,
                           themes_counted=flt.themes)  # fmt: skip
        frame = released.frame
        shown = ~frame["suppressed"].to_numpy(dtype=bool)
        if result.events < policy.k:
            shown[:] = False
            frame["pairs"] = pd.array([None] * len(frame), dtype="Int64")
        published = frame["pairs"].fillna(0).to_numpy(dtype=np.int64).reshape(result.observed.shape)
        expected = result.expected.ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["knox_ratio"] = np.where(expected > 0, published.ravel() / expected, np.nan)
        frame["p"] = result.p_of(published).ravel()
        frame["expected"] = np.nan
        frame.loc[~shown, ["knox_ratio", "p"]] = np.nan
    # Benjamini-Hochberg over the near cells (not the "beyond" row and column), shown cells only
    testable = frame["tested"].to_numpy(dtype=bool) & shown & frame["knox_ratio"].notna().to_numpy()
    q = np.full(len(frame), np.nan)
    if testable.any():
        q[testable] = bh_adjusted(frame.loc[testable, "p"].to_numpy(dtype=float))
    frame["q"] = q
    frame["significant"] = (frame["p"] <= alpha) & frame["tested"] & (frame["knox_ratio"] > 1)
    frame["significant_corrected"] = (frame["q"] <= alpha) & frame["significant"]
    frame = frame.round({"expected": 2, "knox_ratio": 3, "p": 4, "q": 4})
    rows = _records(frame.drop(columns=["tested"]))
    n_tested = int(testable.sum())
    meta: dict[str, Any] = {
        "method": "knox",
        "filter": flt.as_meta(),
        "events": result.events if not aggregates_only or result.events >= policy.k else None,
        "permutations": result.permutations,
        "seed": seed,
        "distance_bands_m": list(result.distance_edges),
        "day_bands": list(result.day_edges),
        "alpha": alpha,
        "cells_tested": n_tested,
        "expected_false_positives": round(alpha * n_tested, 2),
        "correction": "benjamini-hochberg over the near cells (q)",
        "snapping": snapping_note(events.snap_m, result.distance_edges),
        "privacy": policy.parameters(),
        "precision_note": policy.precision_note(),
    }
    return NearRepeatReport(rows, meta, _sentences(rows, flt, meta))


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows as plain Python values: missing (hidden) values become None, numpy scalars plain numbers."""
    import pandas as pd

    out: list[dict[str, Any]] = []
    for record in frame.astype(object).to_dict("records"):
        out.append({key: None if _missing(value, pd) else value.item() if isinstance(value, np.generic)
                    else value for key, value in record.items()})  # fmt: skip
    return out


def _missing(value: Any, pd: Any) -> bool:
    return value is None or (not isinstance(value, (str, list, tuple)) and bool(pd.isna(value)))


def theme_phrase(themes: tuple[str, ...] | None, plural: bool = True) -> str:
    """'burglaries'-style wording is not available for every theme: 'burglary reports', 'theft or burglary
    reports' (English labels of data/themes.csv, lower case)."""
    from koban_geo.store.taxonomy import themes as all_themes

    labels = {t.code: t.labels["en"].lower() for t in all_themes()}
    names = [labels.get(code, code) for code in (themes or ())]
    what = " or ".join(names) if names else "concern"
    return f"{what} reports" if plural else f"{what} report"


def _distance_phrase(lo: float, hi: float) -> str:
    if hi == 0:
        return "in the same square"
    return f"within {hi:g} m" if lo == 0 else f"{lo + 1:g}-{hi:g} m away"


def _time_phrase(lo: float, hi: float) -> str:
    return f"within {hi:g} days" if lo == 0 else f"{lo + 1:g}-{hi:g} days later"


def _sentences(rows: list[dict[str, Any]], flt: Filter, meta: dict[str, Any]) -> list[str]:
    """Plain sentences for the significant near cells (nearest and soonest first) and a summary line."""
    what, one = theme_phrase(flt.themes), theme_phrase(flt.themes, plural=False)
    if meta["events"] is None:
        return [f"Too few {what} to show (fewer than {meta['privacy']['k']})."]
    if meta["cells_tested"] == 0:
        return [f"Too few {what} ({meta['events']}) for a near-repeat table: no pairs to compare."]
    out: list[str] = []
    significant = [r for r in rows if r["significant"]]
    for row in significant:
        corrected = (
            "significant after correcting for the cells tested"
            if row["significant_corrected"]
            else "not significant once the cells tested are corrected for"
        )
        where = _distance_phrase(row["distance_from_m"], row["distance_to_m"])
        when = _time_phrase(row["days_from"], row["days_to"])
        out.append(
            f"After a {one}, further {what} {where} and {when} are {row['knox_ratio']:.1f} times as "
            f"frequent as if times were unrelated to places (p = {row['p']:.3f}; {corrected})."
        )
    tested = meta["cells_tested"]
    if not significant:
        out.append(f"No near-repeat pattern: none of the {tested} distance x time cells has significantly "
                   f"more pairs than chance at {meta['alpha']:.0%}.")  # fmt: skip
    else:
        out.append(
            f"{len(significant)} of {tested} cells are significant at {meta['alpha']:.0%} (about "
            f"{meta['expected_false_positives']:g} would be by chance alone)."
        )
    return out
