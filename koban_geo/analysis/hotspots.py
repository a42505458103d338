"""Hotspot outputs for the CLI, the dashboard and exports: one method, one filter, one audience tier.

Every result goes through koban_geo.privacy.audience.release before it leaves this module. What each tier gets:

| method   | public / council                                         | officer / analyst                   |
|----------|----------------------------------------------------------|-------------------------------------|
| gistar   | cells with count (k-suppressed), gi_bin, label           | + gi_z, gi_p, every cell with data  |
| emerging | cells with trend label, count over the window (k-supp.)  | + gi_z of the last slice, trend p   |
| dbscan   | cluster polygons with at least k reports                 | every cluster                       |
| kde      | refused: a heat peak from a few reports shows a place     | heat cells (density per km²)        |

Gi* z-scores are not published to public tiers: with the neighbours' counts shown, a z-score would let
anyone solve for a suppressed count. For public tiers Gi* runs on the counts as published (shown cells with
their cell-key noise, koban_geo.privacy.cellkey), so a bin is a function of the published map and two maps
that differ by a hidden count do not differ in their bins for certain. Sensitive themes are never counted
unless an officer names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, cast

import duckdb
import numpy as np

from koban_geo.analysis.grid import Filter, bin_counts_by_slice_keyed, bin_counts_keyed, study_grid
from koban_geo.privacy.audience import Audience, Policy, PrivacyError, audience_filter, release
from koban_geo.privacy.cellkey import perturb, perturbation_table
from koban_geo.store.geojson import ColumnRows
from koban_geo.store.i18n import N_, gettext
from koban_geo.store.settings import Settings

if TYPE_CHECKING:  # loaded where a table goes through `release` (public tiers); analysts' Gi* needs none
    import pandas as pd

Method = Literal["gistar", "kde", "dbscan", "emerging"]
METHODS: tuple[str, ...] = ("gistar", "kde", "dbscan", "emerging")

# The one owner of the Gi* confidence bins' words (exports carry the English, screens the session's language).
BIN_LABELS = {
    3: N_("hot spot (99 % confidence)"),
    2: N_("hot spot (95 % confidence)"),
    1: N_("hot spot (90 % confidence)"),
    0: N_("not significant"),
    -1: N_("cold spot (90 % confidence)"),
    -2: N_("cold spot (95 % confidence)"),
    -3: N_("cold spot (99 % confidence)"),
}


def bin_label(gi_bin: int, lang: str = "en") -> str:
    """A Gi* confidence bin (-3..3) in words in `lang`: "hot spot (99 % confidence)", "hotspot (99% betrouwbaarheid)"."""
    return gettext(BIN_LABELS[int(gi_bin)], lang)


def hotspots(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    method: Method,
    flt: Filter | None = None,
    audience: Audience | str = Audience.PUBLIC,
    cell_m: int = 100,
    weights: Literal["queen", "distance"] = "queen",
    distance_m: float | None = None,
    freq: Literal["month", "week"] = "month",
    eps_m: float = 105,
    min_reports: int | None = None,
    significant_only: bool = False,
    complete_slices: bool = False,
    all_cells: bool | None = None,
    rings: bool = False,
) -> tuple[Sequence[tuple[Any, dict[str, Any]]], dict[str, Any]]:
    """(geometry, properties) rows and the metadata of one hotspot output, already through the audience gate.

    eps_m defaults to just over the 100 m snapping grid, so a cluster grows through edge-adjacent squares;
    at 150 m (diagonals too) a dense district chains into one cluster. min_reports None: adapted to the
    data's density (koban_geo.analysis.clusters.auto_min_reports); the value used is in meta["min_reports"].

    significant_only (gistar, emerging; for maps, which draw nothing else): only the cells a map draws, the
    significant Gi* cells (gi_bin != 0) or the cells with an emerging pattern. The audience gate runs on
    every cell first, so what is shown of a kept cell is exactly what the full output shows of it; on
    1,000,000 concerns it leaves out about 80 % of the Gi* rows. Exports and the CLI keep every cell.

    complete_slices (emerging): end the slices at the end of the last complete `freq` period that holds data
    (the filter's end, when the data reach it), not at the filter's end: a window that runs to today past
    the last report would otherwise end in an empty or partial slice and find no pattern. The slices used
    are in meta["slices"], and meta["slices_end"] says where they end (exclusive).

    all_cells (gistar): every cell of the study grid, zero-count and not significant ones too, with count,
    gi_z and gi_p, so that esda's G_Local(y, w, star=True, transform="B") on the output gives the same z
    (README: reproducing the z-scores). None: on for the analyst tier, off for the others; officers may ask
    for it; public and council tiers are refused (their outputs keep the cells with data or a bin). Maps
    (significant_only) never default to it.

    rings (gistar squares for the officer and analyst tiers): each row's geometry is its square's closed
    ring, a (5, 2) lon/lat array (Grid.rings), not a shapely polygon; the GeoJSON writer writes those
    without making polygons (koban_geo.store.geojson.write_rows), and the other writers make them.
    """
    policy = Policy.for_audience(audience, settings)
    every_cell = _all_cells(policy, all_cells, method, significant_only)
    flt = audience_filter(flt or Filter(unit=settings.count_unit), policy)
    meta: dict[str, Any] = {
        "method": method,
        "filter": flt.as_meta(),
        "privacy": policy.parameters(),
        "precision_note": policy.precision_note(),
    }
    if method == "gistar":
        rows = _gistar(
            con, settings, policy, flt, cell_m, weights, distance_m, meta, significant_only, every_cell, rings
        )
    elif method == "emerging":
        if complete_slices:
            flt = _complete_slices(con, flt, freq, meta)
        rows = _emerging(
            con, settings, policy, flt, cell_m, weights, distance_m, freq, meta, significant_only
        )
    elif method == "dbscan":
        rows = _dbscan(con, policy, flt, eps_m, min_reports, meta)
    elif method == "kde":
        rows = _kde(con, policy, flt, meta)
    else:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    return rows, meta


def _all_cells(policy: Policy, asked: bool | None, method: str, significant_only: bool) -> bool:
    """Whether a Gi* output holds every cell of the study grid (see `hotspots`)."""
    if asked and policy.audience.aggregates_only:
        raise PrivacyError(
            f"every cell (--all-cells) is for the officer and analyst tiers; a {policy.audience} output keeps "
            "the cells with reports or a hot/cold bin"
        )
    if asked and method != "gistar":
        raise ValueError("every cell (--all-cells) applies to --method gistar")
    if asked is None:  # a map (significant_only) draws the significant cells whatever the tier
        return policy.audience == Audience.ANALYST and method == "gistar" and not significant_only
    return asked


def _weights(grid: Any, weights: str, distance_m: float | None) -> Any:
    from koban_geo.analysis.gistar import weights_distance_band, weights_queen

    if weights == "distance":
        if distance_m is None:
            raise ValueError("distance weights need --distance (metres between cell centres)")
        return weights_distance_band(grid, float(distance_m))
    return weights_queen(grid)


def _cells_release(frame: pd.DataFrame, policy: Policy, settings: Settings, flt: Filter) -> pd.DataFrame:
    """k-suppression over a table of cells (the grand total is the group whose sum could be published)."""
    released = release(frame, policy.audience, settings, theme=None, themes_counted=flt.themes or ())
    return released.frame


def _gistar(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    policy: Policy,
    flt: Filter,
    cell_m: int,
    weights: str,
    distance_m: float | None,
    meta: dict[str, Any],
    significant_only: bool = False,
    all_cells: bool = False,
    rings: bool = False,
) -> Sequence[tuple[Any, dict[str, Any]]]:
    from koban_geo.analysis.gistar import gi_bins, gi_star, gi_star_queen_square, z_to_p

    grid = study_grid(con, cell_m)
    counts, keys = bin_counts_keyed(con, grid, flt)
    # public tiers: Gi* of the counts as published (a count under k is hidden whatever its bin)
    counted = (
        perturb(counts, keys, perturbation_table(policy.k)) if policy.audience.aggregates_only else counts
    )
    if weights == "queen" and grid.kind == "square":  # the same z without a sparse matrix (nor scipy)
        z = gi_star_queen_square(counted, grid)
    else:
        z = gi_star(counted, _weights(grid, weights, distance_m))
    p = z_to_p(z)
    bins = gi_bins(z, p, fdr=True)
    meta |= {"cell_m": cell_m, "weights": weights, "distance_m": distance_m, "fdr": "benjamini-hochberg",
             "all_cells": all_cells, "study_cells": grid.n}  # fmt: skip
    keep = np.arange(grid.n) if all_cells else np.flatnonzero((counts > 0) | (bins != 0))
    if policy.audience.aggregates_only:
        import pandas as pd

        frame = pd.DataFrame({"cell": keep, "count": counts[keep], "gi_bin": bins[keep].astype(int)})
        frame["ckey"] = keys[keep]
        frame = _cells_release(frame, policy, settings, flt)
        if significant_only:  # after the gate: a kept cell shows what the full output shows of it
            frame = frame[frame["gi_bin"] != 0].reset_index(drop=True)
        frame["label"] = frame["gi_bin"].map(BIN_LABELS)
        return _rows(grid, frame)
    if significant_only:
        keep = keep[bins[keep] != 0]
    # officer and analyst: no suppression, so plain columns (every cell: z to 10 decimals, so that esda's z on
    # the file agrees to 1e-6, and p in full)
    columns: dict[str, Any] = {
        "count": counts[keep],
        "gi_bin": bins[keep].astype(int),
        "gi_z": np.round(z[keep], 10 if all_cells else 4),
        "gi_p": p[keep] if all_cells else np.round(p[keep], 6),
    }
    labels = np.array([BIN_LABELS[b] for b in sorted(BIN_LABELS)], dtype=object)
    columns["label"] = labels[columns["gi_bin"] + 3]
    return _column_rows(grid, keep, columns, rings=rings and grid.kind == "square")


def _emerging(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    policy: Policy,
    flt: Filter,
    cell_m: int,
    weights: str,
    distance_m: float | None,
    freq: str,
    meta: dict[str, Any],
    significant_only: bool = False,
) -> list[tuple[Any, dict[str, Any]]]:
    from koban_geo.analysis.emerging import classify
    from koban_geo.analysis.gistar import gi_bins, gi_star, z_to_p

    grid = study_grid(con, cell_m)
    true_counts, keys, starts = bin_counts_by_slice_keyed(
        con, grid, flt, cast(Literal["month", "week"], freq)
    )
    if true_counts.shape[1] == 0:
        return []
    public = policy.audience.aggregates_only
    # public tiers: trends of the counts as published (each cell and slice with its own cell-key noise)
    counts = perturb(true_counts, keys, perturbation_table(policy.k)) if public else true_counts
    W = _weights(grid, weights, distance_m)
    z = np.column_stack([gi_star(counts[:, s], W) for s in range(counts.shape[1])])
    bins = np.column_stack([gi_bins(z[:, s], z_to_p(z[:, s]), fdr=True) for s in range(counts.shape[1])])
    keep = np.flatnonzero(true_counts.sum(axis=1) > 0)
    categories = classify(z[keep], bins[keep], counts[keep], unit=freq)
    meta |= {"cell_m": cell_m, "weights": weights, "slices": [d.isoformat() for d in starts], "freq": freq}
    import pandas as pd

    frame = pd.DataFrame(
        {
            "cell": keep,
            "count": true_counts[keep].sum(axis=1),
            "gi_bin": bins[keep, -1].astype(int),
            "category": [c.code for c in categories],
            "trend": [c.trend for c in categories],
            "label": [c.label for c in categories],
            "small_numbers": [c.small_numbers for c in categories],
        }
    )
    if public:
        frame["ckey"] = keys[keep].sum(axis=1) % 256  # the window's key: all its slices' records
        frame = _cells_release(frame, policy, settings, flt)
        # a cell whose count is hidden keeps no label either: its trend would describe a few reports
        hidden = frame["suppressed"]
        frame.loc[hidden, ["category", "trend", "label"]] = None
    else:
        frame["gi_z"] = np.round(z[keep, -1], 4)
        frame["trend_p"] = [round(c.trend_p, 6) for c in categories]
    if significant_only:  # after the gate (a hidden cell has no category): cells with a pattern only
        pattern = frame["category"].notna() & (frame["category"] != "no_pattern")
        frame = frame[pattern].reset_index(drop=True)
    return _rows(grid, frame)


def _complete_slices(con: duckdb.DuckDBPyConnection, flt: Filter, freq: str, meta: dict[str, Any]) -> Filter:
    """The filter ending at the end of the last complete `freq` period that holds data: the start of the
    period holding the day after the store's last report (never later than the filter's own end, never at or
    before its start). Unchanged for an empty store."""
    from datetime import datetime, time, timedelta

    from koban_geo.analysis.grid import period_start
    from koban_geo.store.sql import query

    last = query(con, "areas_last_report").fetchone()
    if not last or last[0] is None:
        return flt
    last_at = last[0] if isinstance(last[0], datetime) else datetime.combine(last[0], time.min)
    end = datetime.combine(period_start(last_at.date() + timedelta(days=1), freq), time.min)  # type: ignore[arg-type]
    until = _as_datetime(flt.until)
    since = _as_datetime(flt.since)
    if (until is not None and until <= end) or (since is not None and end <= since):
        return flt
    meta["slices_end"] = end.date().isoformat()
    return replace(flt, until=end)


def _as_datetime(value: Any) -> Any:
    from datetime import datetime, time

    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min)


def _column_rows(grid: Any, cells: np.ndarray, columns: dict[str, Any], *, rings: bool = False) -> ColumnRows:
    """(polygon, properties) per cell from numpy columns without missing values (`tolist` gives plain
    Python numbers and strings in one call per column), kept as columns (store.geojson.ColumnRows); with
    `rings`, each square's ring array instead of its polygon (see `hotspots`)."""
    at = np.asarray(cells, dtype=np.int64)
    polygons = grid.rings(at) if rings else grid.polygons(at)
    return ColumnRows(polygons, {name: np.asarray(values).tolist() for name, values in columns.items()})


def _rows(grid: Any, frame: pd.DataFrame) -> list[tuple[Any, dict[str, Any]]]:
    """(polygon, properties) per row of a cell table: polygons made for these cells only, properties as
    plain Python values (_plain), built column by column."""
    cells = frame["cell"].to_numpy(dtype=np.int64)
    polygons = grid.polygons(cells)
    columns = [c for c in frame.columns if c != "cell"]
    values = [_plain(frame[c]) for c in columns]
    return (
        [
            (polygon, dict(zip(columns, row, strict=True)))
            for polygon, row in zip(polygons, zip(*values, strict=True), strict=True)
        ]
        if columns
        else [(polygon, {}) for polygon in polygons]
    )


def _dbscan(
    con: duckdb.DuckDBPyConnection,
    policy: Policy,
    flt: Filter,
    eps_m: float,
    min_reports: int | None,
    meta: dict[str, Any],
) -> list[tuple[Any, dict[str, Any]]]:
    from koban_geo.analysis.clusters import auto_min_reports, dbscan_clusters

    if min_reports is None:
        min_reports = auto_min_reports(con, eps_m, flt)
    if policy.audience.aggregates_only:
        min_reports = max(min_reports, policy.k)
    clusters = dbscan_clusters(con, eps_m, min_reports, flt=flt)
    meta |= {"eps_m": eps_m, "min_reports": min_reports}
    rows = []
    for c in clusters:
        props: dict[str, Any] = {
            "id": c.id,
            "count": c.count,
            "themes": ", ".join(f"{t.theme} {round(t.share * 100)} %" for t in c.themes),
            "first_reported": c.first_reported.isoformat(),
            "last_reported": c.last_reported.isoformat(),
            "area_km2": round(c.area_km2, 4),
        }
        if not policy.audience.aggregates_only:
            props["n_locations"] = c.n_locations
        rows.append((c.polygon, props))
    return rows


def _kde(
    con: duckdb.DuckDBPyConnection, policy: Policy, flt: Filter, meta: dict[str, Any]
) -> list[tuple[Any, dict[str, Any]]]:
    import shapely

    from koban_geo.analysis.kde import kde_for_store

    if policy.audience.aggregates_only:
        raise PrivacyError(
            "a density surface is for officers and analysts: around a few reports its peak shows a place; "
            "public and council outputs use --method gistar cells"
        )
    surface = kde_for_store(con, flt=flt)
    meta |= {k: surface[k] for k in ("cell_m", "bandwidth_m", "bandwidth_rule", "kernel", "unit")}
    return [
        (shapely.Point(float(x), float(y)), {"density": round(float(d), 3)})
        for x, y, d in zip(surface["lon"], surface["lat"], surface["density"], strict=True)
    ]


def _plain(column: pd.Series) -> list[Any]:
    """A column as plain Python values: missing (suppressed) becomes None, numpy scalars become numbers."""
    values = column.astype(object).tolist()
    missing = column.isna().to_numpy()
    if missing.any():
        values = [None if m else v for v, m in zip(values, missing, strict=True)]
    return [v.item() if isinstance(v, np.generic) else v for v in values]
