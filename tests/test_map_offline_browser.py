"""The officers' demo map as a stand-alone page in Debian's Chromium with every network request refused:
Leaflet loads from the inlined assets and every layer is drawn. Screenshot: test-artifacts/map_offline.png."""

from __future__ import annotations

import shutil

import pytest

from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from tests.browser import ARTIFACTS, CHROMIUM
from ui import assets
from ui import map as maps

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium (`make browser`)"),
]


@pytest.fixture
def demo_with_streets(demo_db, tmp_path):
    from koban_geo.ingest import ingest_file
    from koban_geo.ops.demo import demo_dir

    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db, tiles_url="", _env_file=None)  # type: ignore[call-arg]  # no tile server
    con = connect(db)
    ingest_file(con, settings, demo_dir() / "streets.geojson", kind="layer", layer="streets")
    yield con, settings
    con.close()


def _expected_paths(data: maps.MapData) -> int:
    """SVG paths Leaflet draws: one per polygon, line or circle feature."""
    layers = data.layers
    return (
        len(layers[maps.AREAS])
        + sum(1 for _g, p in layers[maps.GISTAR] if p.get("gi_bin"))
        + sum(1 for _g, p in layers[maps.EMERGING] if p.get("category") in maps.EMERGING_COLOURS)
        + len(layers[maps.DBSCAN])
        + len(layers[maps.CRIME])
        + len(data.streets)
    )


def test_demo_map_draws_with_no_network(demo_with_streets, tmp_path, browser):
    if not assets.available():
        pytest.fail("the map assets are missing: run `make assets`")
    con, settings = demo_with_streets
    layers = maps.allowed_layers("officer", ["licensed_premises", "streetlights"])
    data = maps.map_data(con, settings, None, "officer", layers)
    assert len(data.layers[maps.CRIME]) <= maps.MAX_MARKERS  # so crime is drawn as circles, not heat
    expected = _expected_paths(data)
    page = tmp_path / "map.html"
    page.write_text(
        maps.standalone_html(maps.build_map(data, settings, "en"), title="KOBAN demo"), encoding="utf-8"
    )

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    blocked: list[str] = []
    problems: list[str] = []
    tab.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)  # fmt: skip
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    tab.route("**/*", route)
    tab.goto(page.as_uri())
    tab.wait_for_function(
        f"document.querySelectorAll('.leaflet-overlay-pane svg path').length >= {expected}",
        timeout=30_000,
    )
    tab.wait_for_timeout(500)  # let the heat layer and the clusters settle for the screenshot
    assert tab.evaluate("typeof L") == "object"
    assert tab.evaluate("document.querySelectorAll('.leaflet-overlay-pane svg path').length") == expected
    assert tab.evaluate("document.querySelectorAll('canvas.leaflet-heatmap-layer').length") == 1
    assert tab.evaluate("document.querySelectorAll('.marker-cluster, .koban-dot').length") > 0
    assert tab.evaluate("document.querySelectorAll('.leaflet-control-layers-overlays label').length") == len(layers)  # fmt: skip
    assert tab.evaluate("document.querySelectorAll('.koban-legend').length") == 1
    assert tab.evaluate("document.querySelectorAll('.leaflet-tile').length") == 0
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "map_offline.png"))
    assert blocked == []  # nothing even tried to leave the machine
    assert problems == []
    context.close()
