"""Risk factors (Risk Terrain Modeling style): are concerns denser near some open-data features?

For each layer (licensed premises, streetlights, transit stops...) and each distance band around its features
(0-100, 101-200, 201-300 m by default), the density of the selected concerns in the band is compared with
the density more than the farthest band away (the reference), over the study area:

    relative risk = (concerns in band / cells in band) / (concerns in reference / cells in reference)

**Exposure is measured on the snapping grid, not with buffers.** A stored concern sits at the centre of its
100 m snapping square (500 m for sensitive themes), so a band can only receive the concerns of squares whose
centre lies in it; its exposure is the number of those squares. This is the study grid of
koban_geo.analysis.grid.study_grid at the snapping size (every square whose centre lies in the areas' union, or in
the convex hull of the concerns when no areas are loaded), with each square's distance to the layer's
nearest feature (a KD-tree for points, an STRtree for lines and polygons). A buffer (ST_Buffer/ST_Union)
area would count ground where no snapped concern can appear: a 50 m buffer around a bar often holds no
square centre at all, while the bar's own square (its centre up to 71 m away) falls in the next band. On
the grid the test is
exact under no effect: every square is equally likely to hold a concern. Bands finer than the snapping
square measure squares, not metres: use bands of at least the snapping size.

**Test.** Given the concerns in a band and the reference together, those in the band are binomial with the
band's share of the cells when the risk is equal (the exact conditional test of two Poisson rates); the
confidence interval is Clopper-Pearson on that share, turned into a rate ratio. Concerns cluster more than
a Poisson process (one busy square, one persistent resident), so the counts are first divided by the
overdispersion of the layer's cell counts (Pearson chi-square / degrees of freedom of the band model, at
least 1: quasi-Poisson); with Poisson data it is about 1 and changes nothing. p-values are two-sided and
corrected with Benjamini-Hochberg (q) across every layer x band of the run. A relative risk says where
concerns are, not why: licensed premises stand where people are, and layers share places (no layer is
adjusted for another, as RTM's later modelling step would).

**Audiences** (koban_geo.privacy.audience.release): public and council get the counts per band as every
public count is released: under k hidden (complementary suppression within each layer, whose counts add up
to the study area's total), the others perturbed by their cell keys (the band's records' keys). Their
relative risks, intervals and tests are those of the published counts, and none uses a hidden count (a
band whose own count or whose reference count is hidden gets none); the overdispersion and the correction
use shown rows only, and the overdispersion (a sum over every shown square of a layer) is used and
published rounded up to one decimal.

    report = risk_factors(con, settings, ["licensed_premises"], Filter(themes=("drugs",)), audience="officer")
    report.sentences  # ['Concerns about drugs are 3.1 times as dense within 100 m of licensed premises ...']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
from numpy.typing import ArrayLike, NDArray

from koban_geo.analysis.grid import Filter, Grid
from koban_geo.store.crs import stored_crs
from koban_geo.store.sql import query

DEFAULT_BANDS: tuple[float, ...] = (0, 100, 200, 300)  # metres: within 100 m, 101-200 m, 201-300 m
_TOLERANCE_M = 1e-6


class RiskError(ValueError):
    """The question cannot be asked of this store as put (unknown layer, bad bands, nothing to compare)."""


@dataclass(frozen=True)
class RateRatio:
    """One band against the reference: relative risk, its confidence interval and two-sided p-value
    (None where it cannot be estimated)."""

    rr: float | None
    low: float | None
    high: float | None
    p: float | None


def checked_bands(edges: ArrayLike) -> tuple[float, ...]:
    """Band edges in metres: 0 first, then increasing; at least one band."""
    values = [float(v) for v in np.asarray(edges, dtype=float).ravel()]
    if len(values) < 2 or values[0] != 0:
        raise RiskError(f"distance bands must start at 0 and have at least one more edge, not {values}")
    if any(not math.isfinite(b) or b <= a for a, b in zip(values, values[1:], strict=False)):
        raise RiskError(f"distance band edges must increase: {values}")
    return tuple(values)


def band_index(distances: ArrayLike, edges: tuple[float, ...]) -> NDArray[np.intp]:
    """Band of each distance: k for (edge[k], edge[k+1]] (the first band includes 0), len(edges) - 1 beyond
    the farthest edge (the reference); infinite distances (no feature in reach) are the reference too."""
    d = np.asarray(distances, dtype=float)
    return np.searchsorted(np.asarray(edges[1:]), d - _TOLERANCE_M, side="left").astype(np.intp)


def rate_ratio(
    band_count: float, band_cells: float, ref_count: float, ref_cells: float, *, dispersion: float = 1.0,
    alpha: float = 0.05,
) -> RateRatio:  # fmt: skip
    """The band's rate against the reference's: the exact conditional (binomial) test and Clopper-Pearson
    interval, on counts divided by `dispersion` (>= 1; the beta-function forms take non-integer counts).

    >>> r = rate_ratio(30, 10, 10, 10)
    >>> round(r.rr, 2), round(r.low, 2), round(r.high, 2), round(r.p, 4)
    (3.0, 1.43, 6.88, 0.0022)
    """
    from scipy.special import betainc, betaincinv  # not scipy.stats: its import alone takes ~1 s

    if band_cells <= 0 or ref_cells <= 0:
        return RateRatio(None, None, None, None)
    phi = max(1.0, float(dispersion))
    k, total = band_count / phi, (band_count + ref_count) / phi
    if total <= 0:
        return RateRatio(None, None, None, None)
    share = band_cells / (band_cells + ref_cells)  # the band's share of the concerns under no effect
    upper = float(betainc(k, total - k + 1, share)) if k > 0 else 1.0  # P(X >= k)
    lower = float(betainc(total - k, k + 1, 1 - share)) if k < total else 1.0  # P(X <= k)
    p = min(1.0, 2 * min(upper, lower))
    lo_share = float(betaincinv(k, total - k + 1, alpha / 2)) if k > 0 else 0.0
    hi_share = float(betaincinv(k + 1, total - k, 1 - alpha / 2)) if k < total else 1.0
    scale = ref_cells / band_cells

    def odds(s: float) -> float | None:
        return None if s >= 1 else s / (1 - s) * scale

    rr = None if ref_count <= 0 else (band_count / band_cells) / (ref_count / ref_cells)
    return RateRatio(rr, odds(lo_share), odds(hi_share), p)


def bh_adjusted(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (q), as scipy.stats.false_discovery_control(p, method="bh").

    >>> bh_adjusted(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out


def overdispersion(counts: NDArray[np.int64], groups: NDArray[np.intp], keep: NDArray[np.bool_]) -> float:
    """Pearson chi-square / degrees of freedom of the cell counts around their group's (band's) mean rate,
    over the groups in `keep`; at least 1 (quasi-Poisson: extra variation only ever widens intervals)."""
    use = keep[groups]
    y = counts[use].astype(float)
    g = groups[use]
    if y.size == 0:
        return 1.0
    n = np.bincount(g, minlength=keep.size).astype(float)
    total = np.bincount(g, weights=y, minlength=keep.size)
    present = n > 0
    df = int(n.sum()) - int(present.sum())
    rate = np.divide(total, n, out=np.zeros_like(total), where=present)
    positive = rate > 0
    squares = np.bincount(g, weights=y * y, minlength=keep.size)
    chi2 = float(np.sum(squares[positive] / rate[positive] - total[positive]))
    return max(1.0, chi2 / df) if df > 0 else 1.0


# ---------------------------------------------------------------------------------------------------------
# The store side: exposure grid, distances, counts
# ---------------------------------------------------------------------------------------------------------


def layer_names(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The open-data layers in the store and their feature counts."""
    return {str(name): int(n) for name, n, _points in query(con, "areas_layer_names").fetchall()}


def _crs(con: duckdb.DuckDBPyConnection, grid: Grid) -> str:
    return stored_crs(con) or grid.crs


def _snapping(con: duckdb.DuckDBPyConnection, flt: Filter, default_m: int) -> tuple[int, list[str]]:
    """The grid the selected concerns sit on (the coarsest among them) and warnings about it."""
    sizes = {int(s): int(n) for s, n in query(con, "risk_snap_sizes", flt.params()).fetchall()}
    warnings: list[str] = []
    grids = [s for s in sizes if s > 0]
    cell = max(grids) if grids else default_m
    if len(grids) > 1:
        warnings.append(f"the selected concerns are snapped to {' and '.join(f'{s} m' for s in sorted(grids))} "
                        f"squares: counted on the coarsest ({cell} m)")  # fmt: skip
    if sizes.get(0):
        warnings.append(f"{sizes[0]} concerns are snapped to anonymous points, not squares: they are counted in "
                        f"the {cell} m square holding their point")  # fmt: skip
    return cell, warnings


def _cell_centres(grid: Grid) -> NDArray[np.float64]:
    assert grid.ix is not None and grid.iy is not None
    return np.column_stack([(grid.ix + 0.5) * grid.size, (grid.iy + 0.5) * grid.size]).astype(float)


def nearest_distance(
    con: duckdb.DuckDBPyConnection, layer: str, crs: str, centres: NDArray[np.float64], reach: float
) -> NDArray[np.float64]:
    """Distance (m) from each centre to the layer's nearest feature, inf beyond `reach`."""
    import shapely
    from scipy.spatial import cKDTree

    got = query(con, "risk_layer_features", {"layer": layer, "crs": crs}).fetchnumpy()
    is_point = np.asarray(got["is_point"], dtype=bool)
    out = np.full(len(centres), np.inf)
    if is_point.any() and len(centres):
        xy = np.column_stack([np.asarray(got["x"], dtype=float)[is_point],
                              np.asarray(got["y"], dtype=float)[is_point]])  # fmt: skip
        dist, _ = cKDTree(xy).query(centres, k=1, distance_upper_bound=reach + _TOLERANCE_M)
        out = np.minimum(out, dist)
    if (~is_point).any() and len(centres):
        shapes = shapely.from_wkb([bytes(w) for w, p in zip(got["wkb"], is_point, strict=True) if not p])
        tree = shapely.STRtree(shapes)
        (which, _), dist = tree.query_nearest(shapely.points(centres), max_distance=reach + _TOLERANCE_M,
                                              return_distance=True)  # fmt: skip
        best = np.full(len(centres), np.inf)
        np.minimum.at(best, which, dist)
        out = np.minimum(out, best)
    return out


@dataclass
class RiskReport:
    """Risk factors for one audience: one row per layer x band plus each layer's reference row, the run's
    metadata, and one plain sentence per band (also in each row's "sentence")."""

    rows: list[dict[str, Any]]
    meta: dict[str, Any]
    sentences: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"meta": self.meta, "rows": self.rows, "sentences": self.sentences}


def risk_factors(
    con: duckdb.DuckDBPyConnection,
    settings: Any,
    layers: list[str] | tuple[str, ...],
    flt: Filter | None = None,
    *,
    bands: ArrayLike = DEFAULT_BANDS,
    audience: str = "public",
    alpha: float = 0.05,
    min_reference_share: float = 0.1,
) -> RiskReport:
    """Relative risk of the selected concerns by distance band around each layer's features, against the
    study area more than the farthest band away, for one audience (see the module docstring).

    A layer so dense that less than `min_reference_share` of the study area lies beyond its farthest band
    keeps only its nearer bands (down to the first; a warning says so): 300 licensed premises in 2 km2
    leave nothing more than 300 m away, but may leave a quarter of it more than 100 m away.
    """
    import pandas as pd

    from koban_geo.analysis.grid import bin_counts_keyed, make_square_grid, study_grid
    from koban_geo.privacy.audience import Policy, audience_filter, release

    edges = checked_bands(bands)
    if not 0 < alpha < 1:
        raise RiskError(f"alpha must be between 0 and 1, not {alpha}")
    known = layer_names(con)
    wanted = list(dict.fromkeys(layers))
    if not wanted:
        raise RiskError(f"name at least one layer; layers in the store: {', '.join(known) or 'none'}")
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise RiskError(
            f"unknown layer(s) {', '.join(unknown)}; layers in the store: {', '.join(known) or 'none'}"
        )
    policy = Policy.for_audience(audience, settings)
    flt = audience_filter(flt or Filter(unit=settings.count_unit), policy)
    if not flt.themes:
        raise RiskError("no theme left to count for this audience (sensitive themes are not public)")

    cell, warnings = _snapping(con, flt, int(settings.grid_m))
    grid = study_grid(con, cell)
    crs = _crs(con, grid)
    centres = _cell_centres(grid)
    if flt.areas:  # only the squares of the named areas are exposed
        import shapely

        row = query(con, "risk_areas_union", {"areas": list(flt.areas), "crs": crs}).fetchone()
        inside = np.zeros(grid.n, dtype=bool)
        if row and row[0] is not None:
            inside = shapely.intersects_xy(shapely.from_wkb(bytes(row[0])), centres[:, 0], centres[:, 1])
        keep = np.flatnonzero(inside)
        assert grid.ix is not None and grid.iy is not None
        grid = make_square_grid(grid.ix[keep], grid.iy[keep], cell, crs)
        centres = centres[keep]
    if grid.n == 0:
        raise RiskError("the study area is empty: load areas (or concerns) first")
    if edges[1] < cell:
        warnings.append(f"the first band ({edges[1]:g} m) is finer than the snapping ({cell} m): it measures "
                        f"squares whose centre lies within {edges[1]:g} m, not metres")  # fmt: skip
    counts, cell_keys = bin_counts_keyed(con, grid, flt)

    groups_of: dict[str, NDArray[np.intp]] = {}
    records: list[dict[str, Any]] = []
    for layer in wanted:
        distance = nearest_distance(con, layer, crs, centres, edges[-1])
        used = _bands_with_reference(distance, edges, min_reference_share)
        if used != edges:
            far = float(np.mean(distance > used[-1] + _TOLERANCE_M))
            warnings.append(f"{layer}: bands beyond {used[-1]:g} m left out: only "
                            f"{np.mean(distance > edges[-1] + _TOLERANCE_M):.0%} of the study area is more than "
                            f"{edges[-1]:g} m from its features ({far:.0%} more than {used[-1]:g} m)")  # fmt: skip
        nb = len(used) - 1  # group nb is the reference
        g = band_index(distance, used)
        groups_of[layer] = g
        n_cells = np.bincount(g, minlength=nb + 1)
        n_count = np.bincount(g, weights=counts, minlength=nb + 1).astype(np.int64)
        n_key = (
            np.bincount(g, weights=cell_keys, minlength=nb + 1).astype(np.int64) % 256
        )  # the band's records
        for k in range(nb + 1):
            reference = k == nb
            records.append({"layer": layer, "from_m": used[k] if not reference else used[-1],
                            "to_m": None if reference else used[k + 1], "reference": reference,
                            "cells": int(n_cells[k]), "count": int(n_count[k]), "ckey": int(n_key[k])})  # fmt: skip
    frame = pd.DataFrame.from_records(records)
    frame.insert(1, "band", [_band_label(r["from_m"], r["to_m"]) for r in records])
    frame["area_km2"] = frame["cells"] * (cell / 1000.0) ** 2
    aggregates_only = policy.audience.aggregates_only
    total: int | None = int(counts.sum())
    if aggregates_only:
        released = release(frame, policy.audience, settings, groups=["layer"], theme=None,
                           themes_counted=flt.themes)  # fmt: skip
        frame = released.frame
        layer_totals = released.totals["layer"]["count"]  # every layer's rows add up to the same total
        total = None if layer_totals.isna().any() else int(layer_totals.iloc[0])
    else:
        frame = frame.drop(columns=["ckey"])
        frame["suppressed"] = False
    shown = ~frame["suppressed"].to_numpy(dtype=bool)
    frame["density_km2"] = [
        None if not ok or a == 0 else c / a
        for ok, c, a in zip(shown, frame["count"], frame["area_km2"], strict=True)
    ]

    dispersion: dict[str, float] = {}
    stats: list[RateRatio | None] = []
    for layer in wanted:
        part = np.flatnonzero((frame["layer"] == layer).to_numpy())
        visible = shown[part]
        ref = part[-1]
        dispersion[layer] = overdispersion(counts, groups_of[layer], visible)
        if aggregates_only:  # a coarse summary of the shown squares' variation, never a square's count
            dispersion[layer] = math.ceil(dispersion[layer] * 10 - 1e-9) / 10
        for row in part[:-1]:
            if not (shown[row] and shown[ref]):
                stats.append(None)  # nothing computed from a hidden count
                continue
            stats.append(rate_ratio(float(frame.at[row, "count"]), float(frame.at[row, "cells"]),
                                    float(frame.at[ref, "count"]), float(frame.at[ref, "cells"]),
                                    dispersion=dispersion[layer], alpha=alpha))  # fmt: skip
        stats.append(None)  # the reference row
    p = np.array([np.nan if s is None or s.p is None else s.p for s in stats])
    q = np.full(p.size, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        q[tested] = bh_adjusted(p[tested])
    frame["rr"] = [None if s is None else s.rr for s in stats]
    frame["rr_low"] = [None if s is None else s.low for s in stats]
    frame["rr_high"] = [None if s is None else s.high for s in stats]
    frame["p"] = p
    frame["q"] = q
    frame["significant"] = frame["q"] <= alpha

    meta: dict[str, Any] = {
        "method": "risk factors: exact conditional (binomial) test of two Poisson rates on snapping-grid "
        "exposure, counts scaled by the layer's overdispersion; Benjamini-Hochberg across layers x bands",
        "filter": flt.as_meta(),
        "layers": {name: known[name] for name in wanted},
        "bands_m": list(edges),
        "reference": f"per layer, the study area beyond its farthest band ({edges[-1]:g} m unless a warning says otherwise)",
        "cell_m": cell,
        "study_cells": grid.n,
        "study_area_km2": round(grid.n * (cell / 1000.0) ** 2, 3),
        "total": total,
        "alpha": alpha,
        "confidence": f"{1 - alpha:.0%} (Clopper-Pearson, not corrected)",
        "tests": int(tested.sum()),
        "correction": "benjamini-hochberg (q) across every layer x band tested",
        "dispersion": {name: round(value, 3) for name, value in dispersion.items()},
        "warnings": warnings,
        "privacy": policy.parameters(),
        "precision_note": policy.precision_note(),
    }
    rows = _records(frame)
    references = {r["layer"]: r for r in rows if r["reference"]}
    for row in rows:
        row["sentence"] = sentence(row, references[row["layer"]], flt.themes, meta["tests"], policy.k, alpha)
    return RiskReport(rows, meta, [r["sentence"] for r in rows if not r["reference"]])


def _bands_with_reference(
    distance: NDArray[np.float64], edges: tuple[float, ...], share: float
) -> tuple[float, ...]:
    """The edges without the outer bands that leave less than `share` of the cells as the reference (at
    least the first band is kept)."""
    n = max(1, distance.size)
    used = edges
    while len(used) > 2 and np.count_nonzero(distance > used[-1] + _TOLERANCE_M) < share * n:
        used = used[:-1]
    return used


def _band_label(lo: float, hi: float | None) -> str:
    if hi is None:
        return f"more than {lo:g} m"
    return f"0-{hi:g} m" if lo == 0 else f"{lo + 1:g}-{hi:g} m"


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows as plain, rounded Python values (hidden or undefined ones None)."""
    digits = {"area_km2": 4, "density_km2": 3, "rr": 3, "rr_low": 3, "rr_high": 3}
    out: list[dict[str, Any]] = []
    for record in frame.to_dict("records"):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, np.generic):
                value = value.item()
            if value is None or (isinstance(value, float) and not math.isfinite(value)) or _na(value):
                value = None
            elif key in ("p", "q") and isinstance(value, float):
                value = float(f"{value:.4g}")  # small p-values keep their size
            elif key in digits and isinstance(value, float):
                value = round(value, digits[key])
            row[key] = value
        out.append(row)
    return out


def _na(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def theme_words(themes: tuple[str, ...] | None) -> str:
    """'Concerns about drugs', 'Concerns about noise or drugs' (English labels of data/themes.csv)."""
    from koban_geo.store.taxonomy import themes as all_themes

    labels = {t.code: t.labels["en"].lower() for t in all_themes()}
    names = [labels.get(code, code) for code in (themes or ())]
    return f"Concerns about {' or '.join(names)}" if names else "Concerns"


def _where(row: dict[str, Any]) -> str:
    layer = str(row["layer"]).replace("_", " ")
    lo, hi = row["from_m"], row["to_m"]
    return f"within {hi:g} m of {layer}" if lo == 0 else f"{lo + 1:g}-{hi:g} m from {layer}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "∞"
    return ">999" if value > 999 else f"{value:.2g}" if value < 0.095 else f"{value:.1f}"


def sentence(row: dict[str, Any], reference: dict[str, Any], themes: tuple[str, ...] | None, tests: int, k: int,
             alpha: float = 0.05) -> str:  # fmt: skip
    """The row in plain words, e.g. 'Concerns about drugs are 3.1 times as dense within 100 m of licensed
    premises as more than 300 m away (95 % CI 2.2-4.3; significant after correcting for 6 tests).'"""
    what = theme_words(themes)
    layer = str(row["layer"]).replace("_", " ")
    far = f"more than {reference['from_m']:g} m"
    if row["reference"]:
        if row["count"] is None:
            return f"{far[0].upper()}{far[1:]} from {layer}: hidden (fewer than {k} concerns, or hidden so that a small count elsewhere cannot be worked out)."
        return f"{far[0].upper()}{far[1:]} from {layer} (the reference): {row['count']} concerns in {row['cells']} squares."
    where = _where(row)
    if row["count"] is None:
        return (f"{where[0].upper()}{where[1:]}: hidden (fewer than {k} concerns, or hidden so that a small "
                "count elsewhere cannot be worked out).")  # fmt: skip
    if row["cells"] == 0:
        return f"No part of the study area lies {where}."
    if reference["cells"] == 0:
        return f"No part of the study area is {far} from {layer}: nothing to compare with; try smaller bands."
    if reference["count"] is None:
        return f"{what} {where}: not compared, because the count {far} away is hidden."
    if row["p"] is None:
        return f"No {what[0].lower()}{what[1:]} {where} or {far} away: nothing to compare."
    if row["rr"] is None:
        return f"{what} are found {where} but none {far} away: no relative risk."
    level = f"{1 - alpha:.0%}".replace("%", " %")
    ci = f"{level} CI {_ratio(row['rr_low'])}-{_ratio(row['rr_high'])}"
    if row["significant"]:
        return (f"{what} are {_ratio(row['rr'])} times as dense {where} as {far} away "
                f"({ci}; significant after correcting for {tests} test{'s' if tests != 1 else ''}).")  # fmt: skip
    return (f"{what} {where} are not clearly denser or sparser than those {far} away "
            f"({_ratio(row['rr'])} times; {ci}; q = {row['q']:.2f}).")  # fmt: skip
