"""Concerns per area polygon, and the other things a map draws over the areas, through the audience gate.

`area_counts` is the choropleth's data: one row per area with its count under a `grid.Filter` and its top
themes, in the same (rows, meta) shape as `hotspots.hotspots`. Every row goes through
`audience.release`: for public and council, counts under k are hidden and complementary suppression hides
more until no hidden count can be worked out from the shown ones and the total; sensitive themes are
never counted unless an officer names them (`privacy.audience.audience_filter`).

    rows, meta = area_counts(con, settings, Filter(themes=("noise",)), audience="public")
    for polygon, props in rows:
        print(props["area_code"], props["count"], props["suppressed"], props["top_themes"])

The other layers (recorded crime per published point, open-data points, the streets drawn when there are
no tiles) are points and lines: officers and analysts only, except streets, which hold no one's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import shapely

from koban_geo.analysis.grid import Filter
from koban_geo.privacy.audience import Audience, Policy, PrivacyError, audience_filter, release
from koban_geo.store.settings import Settings
from koban_geo.store.sql import query

TOP_THEMES = 3
STREETS_LAYER = "streets"


def area_counts(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    flt: Filter | None = None,
    audience: Audience | str = Audience.PUBLIC,
    *,
    top: int = TOP_THEMES,
) -> tuple[list[tuple[Any, dict[str, Any]]], dict[str, Any]]:
    """(polygon, properties) per area and the output's metadata, already through the audience gate.

    properties: area_code, name, count (None when hidden), suppressed, top_themes (up to `top` dicts
    {"theme", "count"}, commonest first; officers also get "sensitive"; empty for a hidden area).
    """
    policy = Policy.for_audience(audience, settings)
    flt = audience_filter(flt or Filter(unit=settings.count_unit), policy)
    params = flt.params()
    got = query(con, "areas_counts", params).fetchnumpy()  # one scan: totals and themes per area
    areas = pd.DataFrame(
        {
            "area_code": np.asarray(got["area_code"], dtype=object),
            "name": np.asarray(got["name"], dtype=object),
            "count": np.asarray(got["count"], dtype=np.int64),
            "ckey": np.asarray(got["ckey"], dtype=np.int64),
        }
    )
    geoms = shapely.from_wkb([bytes(w) for w in got["wkb"]]) if len(areas) else np.array([], dtype=object)
    theme_lists = [list(map(str, t)) for t in got["themes"]]
    count_lists = [list(map(int, c)) for c in got["theme_counts"]]
    key_lists = [list(map(int, c)) for c in got["theme_ckeys"]]
    sizes = [len(t) for t in theme_lists]
    themes = pd.DataFrame(
        {
            "area_code": np.repeat(areas["area_code"].to_numpy(), sizes)
            if sizes
            else np.array([], dtype=object),
            "theme": [t for ts in theme_lists for t in ts],
            "count": np.array([c for cs in count_lists for c in cs], dtype=np.int64),
            "ckey": np.array([c for cs in key_lists for c in cs], dtype=np.int64),
        }
    )  # commonest first within an area (the query's order): the top themes are the first shown ones

    counted = flt.themes or ()
    shown = release(areas, policy.audience, settings, theme=None, themes_counted=counted)
    frame = shown.frame.drop(columns=["ckey"], errors="ignore")
    if "suppressed" not in frame:
        frame["suppressed"] = False
    by_theme = release(themes, policy.audience, settings, groups=["area_code"], theme="theme").frame
    top_themes = _top_themes(areas, themes, by_theme, policy, top)

    rows: list[tuple[Any, dict[str, Any]]] = []
    for geom, rec in zip(geoms, frame.itertuples(index=False), strict=True):
        count = None if pd.isna(rec.count) else int(rec.count)
        props = {
            "area_code": str(rec.area_code),
            "name": str(rec.name),
            "count": count,
            "suppressed": bool(rec.suppressed),
            "top_themes": top_themes.get(str(rec.area_code), []) if count is not None else [],
        }
        rows.append((geom, props))

    total = shown.totals.get("all")
    meta: dict[str, Any] = {
        "method": "areas",
        "filter": flt.as_meta(),
        "privacy": policy.parameters(),
        "precision_note": policy.precision_note(),
        "total": _total(total, int(areas["count"].sum()), policy),
        "suppressed": int(frame["suppressed"].sum()),
    }
    return rows, meta


def _top_themes(
    areas: pd.DataFrame, themes: pd.DataFrame, by_theme: pd.DataFrame, policy: Policy, top: int
) -> dict[str, list[dict[str, Any]]]:
    """The commonest shown themes per area (`by_theme` holds each area's themes as released, `themes` the
    same rows with their true counts, commonest first, ties by theme code: areas_counts orders them). For
    public tiers the themes left out (hidden or beyond `top`) must add up, in true counts, to nothing or to
    at least k, since the area's count is published next to them; the counts shown are the released ones."""
    totals = {str(code): int(n) for code, n in zip(areas["area_code"], areas["count"], strict=True)}
    out: dict[str, list[dict[str, Any]]] = {}
    if by_theme.empty:
        return out
    true = {(str(a), str(t)): int(n) for a, t, n in zip(themes["area_code"], themes["theme"], themes["count"], strict=True)}  # fmt: skip
    visible = by_theme[by_theme["count"].notna()].assign(
        true=lambda f: [true[(str(a), str(t))] for a, t in zip(f["area_code"], f["theme"], strict=True)]
    )
    visible = visible.sort_values(["true", "theme"], ascending=[False, True], kind="stable")
    codes = visible["area_code"].astype(str).tolist()
    names = visible["theme"].astype(str).tolist()
    counts = [int(n) for n in visible["count"].tolist()]
    trues = visible["true"].tolist()
    flags = visible["sensitive"].astype(bool).tolist() if "sensitive" in visible else None
    chosen: dict[str, list[int]] = {}
    for i, code in enumerate(codes):
        picked = out.setdefault(code, [])
        if len(picked) < top:
            item: dict[str, Any] = {"theme": names[i], "count": counts[i]}
            if flags is not None:
                item["sensitive"] = flags[i]
            picked.append(item)
            chosen.setdefault(code, []).append(trues[i])
    if policy.audience.aggregates_only:
        for code, picked in out.items():
            total = totals.get(code, 0)
            if 0 < total < policy.k:
                picked.clear()
            while picked and 0 < total - sum(chosen[code][: len(picked)]) < policy.k:
                picked.pop()  # the smallest shown: what is left out grows until it is safe
    return out


def _total(total: pd.DataFrame | None, raw: int, policy: Policy) -> int | None:
    if not policy.audience.aggregates_only:
        return raw
    if total is None or total.empty or pd.isna(total["count"].iloc[0]):
        return None
    return int(total["count"].iloc[0])


# ---------------------------------------------------------------------------------------------------------
# Other layers of the map
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrimeLocations:
    """Recorded crime per published map point: lon/lat arrays, counts, and the commonest crime types."""

    lon: np.ndarray
    lat: np.ndarray
    count: np.ndarray
    crime_types: list[list[tuple[str, int]]]

    def __len__(self) -> int:
        return int(self.count.size)


def crime_locations(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    flt: Filter | None = None,
    audience: Audience | str = Audience.OFFICER,
) -> CrimeLocations:
    """Recorded crime per location for officers' maps (police.uk points: already anonymised at source).

    Public and council maps hold no points: asking for them raises PrivacyError.
    """
    policy = Policy.for_audience(audience, settings)
    _points_allowed(policy, "recorded crime points")
    flt = flt or Filter(unit=settings.count_unit)
    params = {k: v for k, v in flt.params().items() if k != "groups"}
    got = query(con, "areas_crime_locations", params).fetchnumpy()
    types = [
        list(zip(map(str, names), map(int, counts), strict=True))
        for names, counts in zip(got["crime_types"], got["crime_type_counts"], strict=True)
    ]
    return CrimeLocations(
        lon=np.asarray(got["lon"], dtype=float),
        lat=np.asarray(got["lat"], dtype=float),
        count=np.asarray(got["count"], dtype=np.int64),
        crime_types=types,
    )


def area_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Area code -> name, ordered by name (the dashboard's area pickers)."""
    return {str(code): str(name) for code, name in query(con, "areas_names").fetchall()}


def layer_names(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, bool]]:
    """(layer, features, holds only points) for every open-data layer in the store."""
    return [
        (str(name), int(n), bool(points)) for name, n, points in query(con, "areas_layer_names").fetchall()
    ]


def layer_points(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    layer: str,
    audience: Audience | str = Audience.OFFICER,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """lon, lat and a short label (name, else kind) of an open-data layer's points; officers' maps only."""
    _points_allowed(Policy.for_audience(audience, settings), "open-data points")
    got = query(con, "areas_layer_points", {"layer": layer}).fetchnumpy()
    return (
        np.asarray(got["lon"], dtype=float),
        np.asarray(got["lat"], dtype=float),
        [str(x) for x in got["label"]],
    )


def streets(con: duckdb.DuckDBPyConnection, layer: str = STREETS_LAYER) -> np.ndarray:
    """The street lines (shapely, EPSG:4326, simplified to about a metre) of the open-data layer `layer`."""
    got = query(con, "areas_streets", {"layer": layer}).fetchnumpy()
    return shapely.from_wkb([bytes(w) for w in got["wkb"]]) if len(got["wkb"]) else np.array([], dtype=object)


def bounds(con: duckdb.DuckDBPyConnection) -> tuple[float, float, float, float] | None:
    """(min_lon, min_lat, max_lon, max_lat) of the areas, else of the concerns; None for an empty store."""
    row = query(con, "areas_bounds").fetchone()
    if not row or row[0] is None:  # no areas: the concerns' extent (a scan of them, only then)
        row = query(con, "areas_bounds_concerns").fetchone()
    if not row or row[0] is None:
        return None
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def _points_allowed(policy: Policy, what: str) -> None:
    if policy.audience.aggregates_only:
        raise PrivacyError(f"public and council maps hold no points: {what} are for officers and analysts")
