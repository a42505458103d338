"""Density-based clusters of concerns: DBSCAN on distinct snapped locations weighted by their counts.

Concerns repeat on grid centres, so DBSCAN runs on the distinct locations (`clusters_points.sql`) with
`sample_weight` = count: a location is a core point when the reports within `eps_m` of it, itself
included, reach `min_reports`. That is the same answer as DBSCAN on every report, on a few thousand
points instead of a million. (scikit-learn's HDBSCAN was not chosen: its time grows roughly with n²,
measured here at 1.6 s for 10k points, 14 s for 30k and about 130 s for 100k.)

The core threshold adapts to the data unless it is given (`auto_min_reports`): a place is a core point
when its neighbourhood holds at least `DENSITY_FACTOR` (3) times what an even spread of the selected
concerns over the study area would put in a disc of radius eps, and never fewer than `MIN_REPORTS_FLOOR`
(10). A fixed 10 made nearly every place of a dense city a core point: on 1,000,000 concerns (132,710 noise
groups over 200 km², bench/results/hotspots.md) one cluster held 98 % of them and covered 199 km²; with the
adaptive threshold (69 there) the largest of 56 clusters holds 9 %.

    for c in dbscan_clusters(con, eps_m=150, flt=Filter(themes=("noise",), since=date(2025, 1, 1))):
        print(c.id, c.count, c.themes[0].theme, c.first_reported, c.polygon.wkt)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from koban_geo.analysis.grid import Filter, bin_counts, study_grid
from koban_geo.analysis.kde import distinct_locations, to_lonlat
from koban_geo.store.crs import stored_crs
from koban_geo.store.sql import query

DENSITY_FACTOR = 3.0  # a core neighbourhood holds this many times the study area's even spread
MIN_REPORTS_FLOOR = 10  # and never fewer reports (or groups) than this
_DENSITY_CELL_M = 100  # the study grid whose area and counts give the even spread (the snapping grid)
_MIN_DISCS = 10  # a study area smaller than this many eps-discs has no meaningful even spread: use the floor


class ThemeShare(NamedTuple):
    theme: str
    n: int  # reports (or groups) of the theme
    share: float  # of the cluster's count, 0..1


@dataclass(frozen=True)
class Cluster:
    """One DBSCAN cluster: its weight, make-up, time span and outline (EPSG:4326 lon/lat)."""

    id: int  # 1 = the largest cluster
    count: int  # reports (or near-duplicate groups) inside
    n_locations: int  # distinct snapped locations inside
    themes: tuple[ThemeShare, ...]  # the top 3 themes, largest first
    first_reported: datetime
    last_reported: datetime
    polygon: BaseGeometry  # hull of the member locations buffered by eps/2, in lon/lat
    area_km2: float  # of the polygon, measured in the metric CRS

    def as_feature(self) -> dict[str, Any]:
        """A GeoJSON Feature (for a map layer or an export)."""
        return {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(self.polygon),
            "properties": {
                "id": self.id,
                "count": self.count,
                "n_locations": self.n_locations,
                "themes": [t._asdict() for t in self.themes],
                "first_reported": self.first_reported.isoformat(),
                "last_reported": self.last_reported.isoformat(),
                "area_km2": round(self.area_km2, 4),
            },
        }


def auto_min_reports(con: duckdb.DuckDBPyConnection, eps_m: float, flt: Filter | None = None) -> int:
    """The core threshold for `flt` and `eps_m`: DENSITY_FACTOR times the expected weight of a disc of radius
    eps_m if the selected concerns were spread evenly over the study area (the cells of the 100 m study
    grid), rounded up, and at least MIN_REPORTS_FLOOR. A study area under ten such discs (a handful of
    places) has no meaningful even spread, and gets the floor."""
    grid = study_grid(con, _DENSITY_CELL_M)
    disc, area = np.pi * eps_m**2, grid.n * _DENSITY_CELL_M**2
    if area < _MIN_DISCS * disc:
        return MIN_REPORTS_FLOOR
    total = float(bin_counts(con, grid, flt).sum())
    expected = total * disc / area
    return max(MIN_REPORTS_FLOOR, int(np.ceil(DENSITY_FACTOR * expected - 1e-9)))


def dbscan_clusters(
    con: duckdb.DuckDBPyConnection,
    eps_m: float = 150,
    min_reports: int | None = None,
    *,
    hull_ratio: float = 1.0,
    flt: Filter | None = None,
) -> list[Cluster]:
    """DBSCAN clusters of the selected concerns, largest first; noise (locations in no cluster) is left out.

    eps_m: neighbourhood radius in metres (metric CRS of the store); min_reports: the weight a neighbourhood
    needs for its centre to be a core point (None: `auto_min_reports`). Polygons: the convex hull of the member locations
    (hull_ratio 1.0) or shapely's concave hull with that ratio (< 1 hugs the points more), buffered by
    eps_m / 2, so a one-location cluster is a disc and every member lies inside. `flt` selects the concerns
    (koban_geo.analysis.grid.Filter: sensitive themes only when named).
    """
    if eps_m <= 0 or (min_reports is not None and min_reports < 1):
        raise ValueError("eps_m must be positive and min_reports at least 1")
    if not 0.0 <= hull_ratio <= 1.0:
        raise ValueError("hull_ratio must lie in 0..1")
    crs = stored_crs(con)
    if crs is None:
        return []
    params = (flt or Filter()).params()
    rows = query(con, "clusters_points", {**params, "crs": crs}).df()
    if rows.empty:
        return []
    if min_reports is None:
        min_reports = auto_min_reports(con, eps_m, flt)
    xy = rows[["x", "y"]].to_numpy(dtype=float)
    locations, inverse = distinct_locations(xy)
    weights = np.bincount(inverse, weights=rows["weight"].to_numpy(dtype=float), minlength=len(locations))

    from sklearn.cluster import DBSCAN

    labels = DBSCAN(eps=eps_m, min_samples=int(min_reports)).fit(locations, sample_weight=weights).labels_
    rows["label"] = labels[inverse]
    rows = rows[rows["label"] >= 0]
    if rows.empty:
        return []

    by_theme = rows.groupby(["label", "theme"], sort=False)["weight"].sum().reset_index()
    by_theme = by_theme.sort_values(["label", "weight", "theme"], ascending=[True, False, True])
    tops = {int(label): part for label, part in by_theme.groupby("label").head(3).groupby("label")}
    totals = by_theme.groupby("label")["weight"].sum()
    spans = rows.groupby("label").agg(first=("first_at", "min"), last=("last_at", "max"))

    order = np.argsort(labels, kind="stable")  # member locations of label L: order[bounds[L]:bounds[L + 1]]
    bounds = np.searchsorted(labels[order], np.arange(labels.max() + 2))
    members_of = {
        label: locations[order[bounds[label] : bounds[label + 1]]] for label in range(labels.max() + 1)
    }
    found = sorted(  # (-count, west, south, label): largest first, then a stable place order
        (-float(total), float(members_of[label][:, 0].min()), float(members_of[label][:, 1].min()), label)
        for label, total in zip(totals.index.to_numpy(dtype=int), totals.to_numpy(dtype=float), strict=True)
    )

    clusters = []
    for new_id, (neg_total, _x, _y, label) in enumerate(found, start=1):
        members = members_of[label]
        outline = _outline(members, eps_m, hull_ratio)
        total = -neg_total
        top = tops[label]
        clusters.append(
            Cluster(
                id=new_id,
                count=int(round(total)),
                n_locations=len(members),
                themes=tuple(
                    ThemeShare(str(t), int(round(w)), float(w) / total)
                    for t, w in zip(top["theme"], top["weight"], strict=True)
                ),
                first_reported=pd.Timestamp(spans.at[label, "first"]).to_pydatetime(),
                last_reported=pd.Timestamp(spans.at[label, "last"]).to_pydatetime(),
                polygon=_lonlat(outline, crs),
                area_km2=float(outline.area) / 1e6,
            )
        )
    return clusters


def _outline(members: np.ndarray, eps_m: float, hull_ratio: float) -> BaseGeometry:
    """Hull of the member locations (metric), buffered by eps/2."""
    points = shapely.multipoints(members)
    hull = (
        shapely.convex_hull(points) if hull_ratio >= 1.0 else shapely.concave_hull(points, ratio=hull_ratio)
    )
    return shapely.buffer(hull, eps_m / 2.0, quad_segs=8)


def _lonlat(geometry: BaseGeometry, crs: str) -> BaseGeometry:
    def project(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_lonlat(crs, coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geometry, project)


def clusters_geojson(clusters: Sequence[Cluster]) -> dict[str, Any]:
    """The clusters as one GeoJSON FeatureCollection (lon/lat)."""
    return {"type": "FeatureCollection", "features": [c.as_feature() for c in clusters]}
