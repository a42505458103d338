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
    settings = Settings(db=db, tiles_url="")  # no tile server
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


def test_a_map_of_thousands_of_cells_is_drawn_on_a_canvas_with_its_tooltips_and_hatching(tmp_path, browser):
    """More shapes than CANVAS_FROM (the 1M store's ~5,000 Gi* cells): every layer is drawn on one canvas,
    not an SVG path per cell; the cell under the pointer still shows its own tooltip (over the area under
    it), and a hidden area is still hatched grey (an SVG pattern cannot fill a canvas: map.js draws one)."""
    import shapely

    if not assets.available():
        pytest.fail("the map assets are missing: run `make assets`")
    west, south, size = 24.90, 60.15, 0.002
    cells = []
    for i in range(40):
        for j in range(40):  # 1,600 cells; every one a hot spot with its own count
            box = shapely.box(
                west + i * size, south + j * size / 2, west + (i + 1) * size, south + (j + 1) * size / 2
            )
            cells.append((box, {"gi_bin": 3, "count": 1000 + i * 40 + j, "gi_z": 3.5}))
    assert len(cells) > maps.CANVAS_FROM
    area = shapely.box(west, south, west + 40 * size, south + 20 * size)
    hidden = shapely.box(west + 40 * size, south, west + 50 * size, south + 20 * size)  # east of the cells
    data = maps.MapData(audience="officer", k=5, unit="reports", bounds=shapely.union(area, hidden).bounds,
                        layers={maps.AREAS: [(area, {"area_code": "A1", "name": "Test area", "count": 64000}),
                                             (hidden, {"area_code": "A2", "name": "Hidden area", "count": None})],
                                maps.GISTAR: cells})  # fmt: skip
    page = tmp_path / "cells.html"
    page.write_text(
        maps.standalone_html(maps.build_map(data, Settings(tiles_url=""), "en")), encoding="utf-8"
    )
    tab = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    tab.goto(page.as_uri())
    tab.wait_for_function(
        "document.querySelectorAll('.leaflet-overlay-pane canvas').length >= 1", timeout=30_000
    )
    tab.wait_for_timeout(300)  # the canvas draws on the next animation frame
    assert tab.evaluate("document.querySelectorAll('.leaflet-overlay-pane svg path').length") == 0
    to_screen = """([lat, lng]) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const p = map.latLngToContainerPoint([lat, lng]), box = map.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y];
    }"""
    x, y = tab.evaluate(to_screen, [south + 30.5 * size / 2, west + 10.5 * size])  # the cell (i=10, j=30)
    tab.mouse.move(x, y)
    tab.mouse.move(x + 1, y + 1)
    tooltip = tab.locator(".leaflet-tooltip").first
    tooltip.wait_for(timeout=10_000)
    assert "Reports: 1,430" in tooltip.inner_text()  # 1000 + 10 * 40 + 30: that cell's own count
    # the hidden area's fill, read from the canvas: the hatching's greys, not a colour or black
    hx, hy = tab.evaluate(to_screen, [south + 10 * size / 2, west + 45 * size])
    rgb = tab.evaluate(
        """([x, y]) => {
            const c = document.querySelector('.leaflet-overlay-pane canvas'), box = c.getBoundingClientRect();
            const scale = c.width / box.width;
            return Array.from(c.getContext('2d').getImageData((x - box.left) * scale, (y - box.top) * scale, 1, 1).data);
        }""",
        [hx, hy],
    )
    assert rgb[3] > 100 and max(rgb[:3]) - min(rgb[:3]) < 12 and 100 < rgb[0] < 245, rgb
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "map_canvas_cells.png"))
    assert problems == []
