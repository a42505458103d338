"""What the map shows when someone clicks a hotspot cell or an area: counts over time, theme mix, trend,
perception against recorded crime and, for officers only, a few scrubbed example texts.

Everything passes through koban_geo.privacy.audience.release for the asking tier, like every other output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from koban_geo.analysis.emerging import mann_kendall
from koban_geo.analysis.grid import Filter
from koban_geo.privacy.audience import Audience, Policy, audience_filter, release
from koban_geo.store.settings import Settings
from koban_geo.store.sql import query

EXAMPLES = 5
TRENDS = ("up", "down", "none", "too_few")


@dataclass
class PlaceDetails:
    """Counts per month (None where suppressed), theme mix, trend and, for officers, example texts."""

    audience: Audience
    months: pd.DataFrame  # month, count (Int64, None = hidden), suppressed
    themes: pd.DataFrame  # theme, count (Int64, None = hidden), suppressed (+ sensitive for officers)
    total: int | None  # None when hidden
    trend: str  # one of TRENDS
    trend_p: float | None
    perception: list[dict[str, Any]] = field(default_factory=list)  # per theme family (areas only)
    examples: list[dict[str, Any]] = field(default_factory=list)  # officer and analyst tiers only
    note: str = ""


def place_details(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    audience: Audience | str,
    flt: Filter | None = None,
    area_code: str | None = None,
    polygon_wkt: str | None = None,
    lang: str = "en",
) -> PlaceDetails:
    """Details of one place: an area (by code) or a polygon (WKT, lon/lat), for one filter and tier."""
    if (area_code is None) == (polygon_wkt is None):
        raise ValueError("give exactly one of area_code or polygon_wkt")
    policy = Policy.for_audience(audience, settings)
    flt = audience_filter(flt or Filter(unit=settings.count_unit), policy)
    params = {**flt.params(), "area": area_code, "wkt": polygon_wkt}
    counted = query(con, "details_counts", params).df()  # per month and theme, and per theme (whole)
    whole = counted["whole"].astype(bool)
    raw = counted.loc[~whole, ["month", "theme", "count", "ckey"]].reset_index(drop=True)
    themes_counted = list(flt.themes or ())

    by_month = _monthly(raw, flt)
    months = release(by_month, audience, settings, theme=None, themes_counted=themes_counted)
    by_theme = counted.loc[whole, ["theme", "count", "ckey"]].reset_index(
        drop=True
    )  # distinct groups over the window
    if by_theme.empty:
        by_theme = _empty("theme")
    mix = release(by_theme, audience, settings)
    total_frame = mix.totals.get("all")
    if total_frame is not None:
        total = total_frame["count"].iloc[0]
        total = None if pd.isna(total) else int(total)
    else:
        total = int(by_theme["count"].sum())

    months.frame = months.frame.drop(columns=["ckey"], errors="ignore")
    mix.frame = mix.frame.drop(columns=["ckey"], errors="ignore")
    trend, trend_p = _trend(by_month["count"].to_numpy())
    if policy.audience.aggregates_only and total is None:
        trend, trend_p = "too_few", None  # a trend over a hidden total would still describe it
    out = PlaceDetails(
        audience=policy.audience,
        months=months.frame,
        themes=mix.frame.sort_values("count", ascending=False, na_position="last").reset_index(drop=True),
        total=total,
        trend=trend,
        trend_p=trend_p,
        note=policy.precision_note(lang),
    )
    if not policy.audience.aggregates_only:
        if area_code is not None:  # small per-family counts: officers and analysts only
            out.perception = _perception(con, settings, flt, area_code)
        rows = query(con, "details_examples", {**params, "limit": EXAMPLES}).fetchall()
        out.examples = [{"theme": t, "month": m, "text": d} for t, m, d in rows]
    return out


def _empty(column: str) -> pd.DataFrame:
    return pd.DataFrame(
        {column: pd.Series(dtype=object), "count": pd.Series(dtype="int64"), "ckey": pd.Series(dtype="int64")}
    )


def _monthly(raw: pd.DataFrame, flt: Filter) -> pd.DataFrame:
    """Totals per calendar month, with the empty months in between (a trend needs its zeros), and each
    month's cell key (the sum of its themes' keys: of its records' keys, mod 256)."""
    if raw.empty:
        return pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]"), "count": pd.Series(dtype="int64"),
                             "ckey": pd.Series(dtype="int64")})  # fmt: skip
    keys = raw.groupby("month")["ckey"].sum() % 256
    sums = raw.groupby("month")["count"].sum()
    first = (
        pd.Timestamp(flt.since).to_period("M") if flt.since else pd.Timestamp(sums.index.min()).to_period("M")
    )
    last = pd.Timestamp(sums.index.max()).to_period("M")
    if flt.until is not None:
        last = max(last, (pd.Timestamp(flt.until) - pd.Timedelta(seconds=1)).to_period("M"))
    index = pd.period_range(first, last, freq="M").to_timestamp()
    sums.index = pd.to_datetime(sums.index)
    series = sums.reindex(index, fill_value=0)
    keys.index = pd.to_datetime(keys.index)
    return pd.DataFrame({"month": series.index, "count": series.to_numpy(dtype="int64"),
                         "ckey": keys.reindex(index, fill_value=0).to_numpy(dtype="int64")})  # fmt: skip


def _trend(series: np.ndarray) -> tuple[str, float | None]:
    """Mann-Kendall on the monthly totals; fewer than 4 months or 10 reports are too few to call a trend."""
    if len(series) < 4 or series.sum() < 10:
        return "too_few", None
    result = mann_kendall(series.astype(float))
    return result.trend, result.p


def _perception(
    con: duckdb.DuckDBPyConnection, settings: Settings, flt: Filter, area_code: str
) -> list[dict[str, Any]]:
    from koban_geo.analysis.perception import perception_vs_crime

    table = perception_vs_crime(con, flt.since, flt.until, count_unit=settings.count_unit)
    rows = table[table["area_code"] == area_code]
    keep = ["family", "concerns", "crime", "flag", "reason"]
    return [{k: row[k] for k in keep if k in row} for row in rows.to_dict("records")]


@dataclass(frozen=True)
class Place:
    """What lies under a click: the area (if any) and the grid cell of the hotspot layers, as WKT lon/lat."""

    area_code: str | None
    area_name: str | None
    cell_wkt: str
    lon: float
    lat: float


def place_at(con: duckdb.DuckDBPyConnection, lon: float, lat: float, cell_m: int = 100) -> Place:
    """The area and the study-grid cell (the one Gi* colours) containing a clicked point."""
    import math

    import shapely

    from koban_geo.analysis.grid import study_grid
    from koban_geo.store.crs import transformer

    grid = study_grid(con, cell_m)
    x, y = transformer("EPSG:4326", grid.crs).transform(lon, lat)
    ix, iy = math.floor(x / cell_m), math.floor(y / cell_m)
    xs = [ix * cell_m, (ix + 1) * cell_m, (ix + 1) * cell_m, ix * cell_m]
    ys = [iy * cell_m, iy * cell_m, (iy + 1) * cell_m, (iy + 1) * cell_m]
    lons, lats = transformer(grid.crs, "EPSG:4326").transform(xs, ys)
    cell = shapely.Polygon([(round(a, 7), round(b, 7)) for a, b in zip(lons, lats, strict=True)])
    row = query(con, "details_area_at", {"lon": lon, "lat": lat}).fetchone()
    return Place(row[0] if row else None, row[1] if row else None, cell.wkt, lon, lat)
