"""Which base the dashboard's maps draw (dashboard/ui/basemap.py through ui/map/draw.py's add_base_layer): the offline
vector basemap when it is built, a configured tile server before it, the store's streets without either."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import LineString

from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from ui import assets
from ui import basemap as ui_basemap
from ui import map as maps

BOUNDS = (24.935, 60.164, 24.953, 60.179)
STREETS = [LineString([(24.94, 60.17), (24.945, 60.172)])]


def _settings(tmp_path: Path, **kw) -> Settings:
    return Settings(db=tmp_path / "k.duckdb", **kw)


def test_a_built_basemap_is_drawn_instead_of_the_streets(helsinki_basemap: Path, tmp_path: Path) -> None:
    settings = _settings(tmp_path, basemap=helsinki_basemap)
    page = maps.base_map(settings, BOUNDS, streets=STREETS).get_root().render()
    assert "window.kobanBasemap(" in page and "/basemap/tiles/{z}/{x}/{y}.mvt?v=" in page
    assert '"minZoom": 12' in page and '"maxDataZoom": 17' in page
    assert "OpenStreetMap contributors" in page
    assert "L.tileLayer" not in page and '"LineString"' not in page  # no raster tiles, no street lines


def test_a_tile_server_wins(helsinki_basemap: Path, tmp_path: Path) -> None:
    settings = _settings(tmp_path, basemap=helsinki_basemap, tiles_url="/tiles/{z}/{x}/{y}.png")
    page = maps.base_map(settings, BOUNDS, streets=STREETS).get_root().render()
    assert "L.tileLayer" in page and "kobanBasemap" not in page
    assert ui_basemap.basemap_options(settings) is None


def test_without_a_basemap_the_streets_are_drawn(tmp_path: Path) -> None:
    settings = _settings(tmp_path)  # nothing beside the store
    page = maps.base_map(settings, BOUNDS, streets=STREETS).get_root().render()
    assert "kobanBasemap" not in page and '"LineString"' in page


def test_map_data_leaves_out_the_streets_when_the_basemap_draws_them(
    demo_db: Path, helsinki_basemap: Path
) -> None:
    con = connect(demo_db, read_only=True)
    try:
        with_basemap = Settings(db=demo_db, basemap=helsinki_basemap)
        assert maps.map_data(con, with_basemap, None, "officer", ["areas"]).streets is None
        without = Settings(db=demo_db, basemap=helsinki_basemap.with_name("none.pmtiles"))
        assert len(maps.map_data(con, without, None, "officer", ["areas"]).streets) > 50
    finally:
        con.close()


def test_the_renderer_is_vendored_and_the_script_is_served_by_the_app() -> None:
    if not assets.available():
        pytest.fail("the map assets are missing: run `make assets`")
    local = assets.local_url(ui_basemap.RENDERER_URL)
    assert local == "/app/static/vendor/protomaps-leaflet/5.1.0/protomaps-leaflet.js"
    assert (assets.VENDOR / "protomaps-leaflet/5.1.0/protomaps-leaflet.js").stat().st_size > 100_000
    script = assets.STATIC / "basemap.js"
    assert ui_basemap.SCRIPT_URL == "/app/static/basemap.js" and "window.kobanBasemap" in script.read_text()
