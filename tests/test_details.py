"""Details of a clicked place: counts equal SQL, tiers respected, trend on constructed series."""

from __future__ import annotations

import shutil

import pytest

from koban_geo.analysis.details import place_at, place_details
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings


@pytest.fixture
def demo(demo_db, tmp_path):
    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    con = connect(db)
    yield con, Settings(db=db)
    con.close()


def _busiest_area(con) -> str:
    return con.execute(
        "SELECT area_code FROM concerns GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]


def test_area_totals_equal_a_direct_count(demo):
    con, settings = demo
    settings = settings.replace(count_unit="reports")
    code = _busiest_area(con)
    details = place_details(con, settings, audience="officer", area_code=code)
    expected = con.execute(
        "SELECT count(*) FROM concerns WHERE area_code = ? AND theme NOT IN (SELECT code FROM themes WHERE sensitive)",
        [code],
    ).fetchone()[0]
    assert details.total == expected
    assert int(details.months["count"].sum()) == expected
    assert int(details.themes["count"].sum()) == expected


def test_public_details_hide_small_counts_texts_and_perception(demo):
    con, settings = demo
    code = _busiest_area(con)
    public = place_details(con, settings, audience="public", area_code=code)
    assert public.examples == [] and public.perception == []
    shown = public.themes["count"].dropna()
    assert (shown >= settings.k_min).all()
    hidden = public.themes[public.themes["suppressed"]]
    assert hidden["count"].isna().all()
    assert "sensitive" not in public.themes or not public.themes["sensitive"].any()
    officer = place_details(con, settings, audience="officer", area_code=code)
    assert officer.examples and all(isinstance(e["text"], str) for e in officer.examples)
    assert officer.perception and {"family", "flag"} <= set(officer.perception[0])


def test_polygon_details_and_trend(demo):
    con, settings = demo
    # The demo plants a persistent drugs problem at Rautatientori (HEL-112) and a fading one elsewhere.
    wkt = "POLYGON((24.93 60.165, 24.96 60.165, 24.96 60.175, 24.93 60.175, 24.93 60.165))"
    details = place_details(con, settings, audience="analyst", polygon_wkt=wkt)
    assert details.total and details.total > 0
    assert details.trend in ("up", "down", "none")
    empty = place_details(
        con, settings, audience="analyst", polygon_wkt="POLYGON((0 0, 0.001 0, 0.001 0.001, 0 0))"
    )
    assert empty.total == 0 and empty.trend == "too_few"
    with pytest.raises(ValueError, match="exactly one"):
        place_details(con, settings, audience="public")


def test_place_at_finds_the_area_and_the_gistar_cell(demo):
    import shapely

    from koban_geo.analysis.hotspots import hotspots

    con, settings = demo
    rows, _ = hotspots(con, settings, method="gistar", audience="officer")
    geom, props = max(rows, key=lambda r: r[1]["count"])
    centre = geom.centroid
    place = place_at(con, centre.x, centre.y)
    cell = shapely.from_wkt(place.cell_wkt)
    assert cell.equals_exact(geom, tolerance=1e-6) or abs(cell.area - geom.area) / geom.area < 1e-3
    assert place.area_code is not None and place.area_name
    outside = place_at(con, 0.0, 0.0)
    assert outside.area_code is None


def test_a_group_spanning_two_months_counts_once_in_the_total(demo):
    con, settings = demo
    code = _busiest_area(con)
    details = place_details(con, settings, audience="officer", area_code=code)
    distinct = con.execute(
        "SELECT count(DISTINCT coalesce(group_id, source || '/' || id)) FROM concerns WHERE area_code = ? "
        "AND theme NOT IN (SELECT code FROM themes WHERE sensitive)",
        [code],
    ).fetchone()[0]
    assert settings.count_unit == "groups"
    assert details.total == distinct
