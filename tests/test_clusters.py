"""DBSCAN clusters on weighted snapped locations: hand-built inputs with known answers, in a real store."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from koban_geo.analysis.clusters import auto_min_reports, clusters_geojson, dbscan_clusters
from koban_geo.analysis.grid import Filter
from koban_geo.store.sql import meta_set
from tests.helpers import add_concerns

CRS = "EPSG:32635"  # UTM 35N: central Helsinki
X0, Y0 = 385050.0, 6672050.0  # a 100 m grid centre
T0 = datetime(2025, 3, 1, 10)
_TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def add(con, x, y, n, theme="noise", *, start=T0, step=timedelta(0), group=None, prefix="c"):
    """n concerns at metric (x, y), the i-th reported at start + i·step (group: one shared group id)."""
    first = con.execute("SELECT count(*) FROM concerns").fetchone()[0]
    rows = pd.DataFrame(
        {
            "id": [f"{prefix}{first + i}" for i in range(n)],
            "reported_at": [start + i * step for i in range(n)],
            "theme": theme,
            "x": x,
            "y": y,
            "group_id": group,
        }
    )
    add_concerns(con, rows, crs=CRS)


@pytest.fixture
def store(con):
    meta_set(con, "metric_crs", CRS)
    return con


def lonlat(x, y):
    return shapely.Point(*_TO_LONLAT.transform(x, y))


def test_empty_store_has_no_clusters(con):
    assert dbscan_clusters(con) == []


def test_two_tight_groups_and_an_outlier(store):
    group_a = [(X0, Y0, 5), (X0 + 100, Y0, 5), (X0, Y0 + 100, 4)]
    group_b = [(X0 + 2000, Y0, 6), (X0 + 2100, Y0, 6)]
    outlier = (X0 + 1000, Y0 + 1000, 3)
    for x, y, n in [*group_a, *group_b, outlier]:
        add(store, x, y, n)

    clusters = dbscan_clusters(store, eps_m=150, min_reports=10, flt=Filter(unit="reports"))
    assert [(c.id, c.count, c.n_locations) for c in clusters] == [(1, 14, 3), (2, 12, 2)]
    a, b = clusters
    for x, y, _ in group_a:
        assert a.polygon.contains(lonlat(x, y))
    for x, y, _ in group_b:
        assert b.polygon.contains(lonlat(x, y))
    assert not any(c.polygon.intersects(lonlat(outlier[0], outlier[1])) for c in clusters)  # noise


def test_weights_count_towards_min_reports(store):
    add(store, X0, Y0, 12, "noise")  # one place reported 12 times
    for i in range(12):  # 12 single reports 1 km apart
        add(store, X0 + 3000 + 1000 * (i % 4), Y0 + 1000 * (i // 4), 1, "litter")

    (single,) = dbscan_clusters(store, min_reports=10, flt=Filter(themes=("noise",), unit="reports"))
    assert (single.count, single.n_locations) == (12, 1)
    assert single.polygon.contains(lonlat(X0, Y0))
    assert single.area_km2 == pytest.approx(3.1416 * 0.075**2, rel=0.02)  # a disc of radius eps/2
    assert dbscan_clusters(store, min_reports=10, flt=Filter(themes=("litter",), unit="reports")) == []
    assert len(dbscan_clusters(store, min_reports=10, flt=Filter(unit="reports"))) == 1


def test_near_duplicate_groups_count_once(store):
    add(store, X0, Y0, 12, group="test/g1")  # one resident, twelve times
    assert len(dbscan_clusters(store, flt=Filter(unit="reports"))) == 1
    assert dbscan_clusters(store, flt=Filter(unit="groups")) == []


def test_dominant_themes_and_date_range(store):
    day = timedelta(days=1)
    add(store, X0, Y0, 6, "noise", start=datetime(2025, 3, 2, 22), step=day)
    add(store, X0 + 100, Y0, 3, "drugs", start=datetime(2025, 3, 1, 23), step=day)
    add(store, X0 + 100, Y0, 2, "litter", start=datetime(2025, 3, 15, 8), step=5 * day)
    add(store, X0, Y0 + 100, 1, "asb", start=datetime(2025, 3, 10, 12))

    (cluster,) = dbscan_clusters(store, min_reports=10, flt=Filter(unit="reports"))
    assert cluster.count == 12
    assert [(t.theme, t.n) for t in cluster.themes] == [("noise", 6), ("drugs", 3), ("litter", 2)]
    assert [t.share for t in cluster.themes] == pytest.approx([0.5, 0.25, 1 / 6])
    assert cluster.first_reported == datetime(2025, 3, 1, 23)
    assert cluster.last_reported == datetime(2025, 3, 20, 8)
    # the window selects before clustering: from 5 March on, 3 noise, 2 litter and 1 asb reports remain
    (late,) = dbscan_clusters(store, min_reports=6, flt=Filter(since=datetime(2025, 3, 5), unit="reports"))
    assert (late.count, late.first_reported) == (6, datetime(2025, 3, 5, 22))
    assert dbscan_clusters(store, min_reports=7, flt=Filter(since=datetime(2025, 3, 5), unit="reports")) == []
    assert (
        dbscan_clusters(
            store,
            min_reports=6,
            flt=Filter(since=datetime(2025, 3, 5), until=datetime(2025, 3, 20), unit="reports"),
        )
        == []
    )


@pytest.mark.parametrize("hull_ratio", [1.0, 0.2])
def test_polygons_are_valid_lonlat_and_hold_their_members(store, hull_ratio):
    members = [(X0 + 100 * i, Y0, 3) for i in range(6)] + [(X0, Y0 + 100 * j, 3) for j in range(1, 6)]  # an L
    for x, y, n in members:
        add(store, x, y, n)

    (cluster,) = dbscan_clusters(
        store, eps_m=150, min_reports=6, hull_ratio=hull_ratio, flt=Filter(unit="reports")
    )
    assert cluster.n_locations == len(members)
    polygon = cluster.polygon
    assert polygon.is_valid and polygon.geom_type == "Polygon"
    minx, miny, maxx, maxy = polygon.bounds
    assert 24.8 < minx < maxx < 25.1 and 60.1 < miny < maxy < 60.3
    assert all(polygon.contains(lonlat(x, y)) for x, y, _ in members)
    inside_the_l = lonlat(X0 + 200, Y0 + 200)
    assert polygon.contains(inside_the_l) is (hull_ratio == 1.0)  # the concave hull follows the L

    feature = clusters_geojson([cluster])["features"][0]
    assert shapely.geometry.shape(feature["geometry"]).equals_exact(polygon, 1e-9)
    assert feature["properties"]["count"] == 33


def test_sensitive_themes_cluster_only_when_named(store):
    add(store, X0, Y0, 12, "domestic")
    assert dbscan_clusters(store, flt=Filter(unit="reports")) == []
    assert len(dbscan_clusters(store, flt=Filter(themes=("domestic",), unit="reports"))) == 1


def test_bad_parameters_are_refused(store):
    with pytest.raises(ValueError):
        dbscan_clusters(store, eps_m=0)
    with pytest.raises(ValueError):
        dbscan_clusters(store, hull_ratio=1.5)
    with pytest.raises(ValueError, match="unit"):
        dbscan_clusters(store, flt=Filter(unit="people"))  # type: ignore[arg-type]


def test_the_shared_filter_object_selects(store):
    add(store, X0, Y0, 12, "noise")
    add(store, X0 + 2000, Y0, 12, "drugs")
    assert len(dbscan_clusters(store, flt=Filter(themes=("noise", "drugs"), unit="reports"))) == 2
    (only,) = dbscan_clusters(store, flt=Filter(themes=("drugs",), unit="reports"))
    assert only.themes[0].theme == "drugs"
    assert dbscan_clusters(store, flt=Filter(since=datetime(2026, 1, 1))) == []


def test_the_default_threshold_adapts_to_the_density(store):
    """Even background, 3 reports in each of 20 x 20 cells of 100 m (4 km²), and 40 more in one cell.
    A fixed 10 within 105 m makes every background place a core point (itself and its four edge neighbours:
    15), so the whole lattice is one cluster; the default threshold is 3x the even spread of a 105 m disc,
    ceil(3 * 1240 * pi * 105² / 4,000,000) = 33, which only the busy cell and its neighbours reach."""
    import math

    import numpy as np

    centres = np.arange(20) * 100.0
    gx, gy = np.meshgrid(X0 + centres, Y0 + centres)
    xs, ys = np.repeat(gx.ravel(), 3), np.repeat(gy.ravel(), 3)
    add(store, xs, ys, len(xs))
    busy = (X0 + 1000, Y0 + 1000)
    add(store, *busy, 40)
    reports = Filter(unit="reports")

    assert (
        auto_min_reports(store, 105, reports) == math.ceil(3 * 1240 * math.pi * 105**2 / (400 * 100**2)) == 33
    )

    (everything,) = dbscan_clusters(store, eps_m=105, min_reports=10, flt=reports)
    assert everything.count == 1240

    (hot,) = dbscan_clusters(store, eps_m=105, flt=reports)
    # the busy cell and its four neighbours are core; their neighbours join as border places
    assert hot.n_locations == 13 and hot.count == 40 + 13 * 3
    assert hot.polygon.contains(lonlat(*busy))


def test_a_tiny_study_area_keeps_the_floor(store):
    add(store, X0, Y0, 12)  # one place: no even spread to compare with
    assert auto_min_reports(store, 105, Filter(unit="reports")) == 10
