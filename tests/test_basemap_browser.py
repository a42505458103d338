"""The offline basemap in a real browser (Debian's Chromium through Playwright) with every request that would
leave the machine refused: the officer map and the meeting screen of the demo draw the app's own vector tiles
(requests to /basemap/tiles/ seen and answered), the canvas shows the geography, and street names are placed
(protomaps-leaflet's label index holds Helsinki's street names). Screenshots: test-artifacts/basemap-*.png.
Waits are start-up waits with generous limits, never performance assertions (bench/ measures speed)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from koban_geo.community.accounts import add_user
from koban_geo.community.meetings import create_meeting, open_meeting
from koban_geo.community.proposals import propose_candidates
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from tests.browser import (
    ARTIFACTS,
    CHROMIUM,
    MAP_FRAME,
    dashboard_server,
    log_in,
    map_frame,
    only_local,
    wait_for_app,
    watch,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium (`make browser`)"),
]

OFFICER, PASSWORD = "bea", "a long basemap passphrase"
STATION = (60.1710, 24.9415)  # Helsinki central railway station, beside Mannerheimintie and Kaivokatu
CENTRAL_STREETS = {"Aleksanterinkatu", "Bulevardi", "Fabianinkatu", "Kaisaniemenkatu", "Kaivokatu",
                   "Mannerheimintie", "Pohjoisesplanadi", "Unioninkatu", "Yliopistonkatu"}  # fmt: skip

# Inside the map frame: what the basemap drew. Ink = pixels that are not the background or the land colour
# (roads, buildings, parks, rail, water); label ink = drawn pixels in the names' pane.
DRAWN_JS = """() => {
    const map = window.map, layers = map.kobanBasemap;
    if (!layers) return null;
    const ink = (selector, keep) => {
        let drawn = 0, canvases = 0;
        document.querySelectorAll(selector).forEach(c => {
            if (!c.width || !c.height) return;
            canvases++;
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 0; i < data.length; i += 4) { if (keep(data, i)) drawn++; }
        });
        return {drawn, canvases};
    };
    const plain = (d, i) => (d[i] === 0xe6 && d[i + 1] === 0xe6 && d[i + 2] === 0xe3)
                          || (d[i] === 0xf3 && d[i + 1] === 0xf3 && d[i + 2] === 0xf1);
    const names = new Set();
    layers.labels.labelers.labelers.forEach(labeler => labeler.index.current.forEach(set => set.forEach(l => {
        if (l.deduplicationKey) names.add(l.deduplicationKey); })));
    return {
        zoom: map.getZoom(),
        base: ink('.leaflet-tile-pane canvas', (d, i) => d[i + 3] > 0 && !plain(d, i)),
        labels: ink('.leaflet-kobanLabels-pane canvas', (d, i) => d[i + 3] > 0),
        names: Array.from(names).sort(),
        attribution: document.querySelector('.leaflet-control-attribution').innerText,
    };
}"""


@dataclass
class Site:
    base: str
    code: str


@pytest.fixture(scope="module")
def site(demo_db: Path, helsinki_basemap: Path, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the demo store with the demo basemap beside it, an officer and an open meeting."""
    work = tmp_path_factory.mktemp("basemap-browser")
    db = work / "site.duckdb"
    shutil.copyfile(demo_db, db)
    shutil.copyfile(helsinki_basemap, work / "site.basemap.pmtiles")  # where the server looks by default
    settings = Settings(db=db)
    con = connect(db)
    try:
        add_user(con, OFFICER, PASSWORD, "officer", actor="test")
        areas = ["HEL-112", "HEL-111", "HEL-113"]
        meeting = create_meeting(con, title="Basemap meeting", date=date(2026, 11, 30), areas=areas, actor=OFFICER,
                                 candidates=propose_candidates(con, settings, areas, None, None)[:3])  # fmt: skip
        meeting = open_meeting(con, meeting.id, OFFICER)
    finally:
        con.close()
    with dashboard_server(db) as base:  # KOBAN_TILES_URL is empty there: no tile server
        yield Site(base=base, code=meeting.code)


def _open(browser, viewport: dict[str, int]) -> tuple[Any, list[str], list[str], list[tuple[str, int]]]:
    page = browser.new_context(viewport=viewport).new_page()
    blocked, problems = only_local(page), watch(page)
    tiles: list[tuple[str, int]] = []
    page.on("response", lambda r: tiles.append((r.url, r.status)) if "/basemap/" in r.url else None)
    return page, blocked, problems, tiles


def _drawn(page, frame) -> dict[str, Any]:
    """What the basemap drew, once its tiles are painted and its names placed (start-up wait)."""
    frame.wait_for_function(
        f"() => {{ const d = ({DRAWN_JS})(); return d && d.base.drawn > 5000 && d.labels.drawn > 200; }}",
        timeout=60_000,
    )
    page.wait_for_timeout(500)  # the last tiles of the view
    return frame.evaluate(DRAWN_JS)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _check_tiles(site: Site, tiles: list[tuple[str, int]], blocked: list[str], problems: list[str]) -> None:
    assert blocked == [], f"requests left the machine: {blocked[:5]}"
    assert problems == [], problems[:5]
    vector = [(u, s) for u, s in tiles if "/basemap/tiles/" in u]
    assert len(vector) >= 4, tiles  # a view needs several tiles
    assert all(u.startswith(site.base + "/basemap/tiles/") for u, _s in vector)  # from the app itself
    assert {s for _u, s in vector} <= {200, 204, 304} and any(s == 200 for _u, s in vector)


def test_officer_map_draws_the_offline_basemap_with_street_names(site: Site, browser) -> None:
    page, blocked, problems, tiles = _open(browser, {"width": 1400, "height": 1000})
    log_in(page, site.base, OFFICER, PASSWORD)  # the server's login form, then the map
    frame = map_frame(page)
    drawn = _drawn(page, frame)
    _shot(page, "basemap-1-officer-map")
    _check_tiles(site, tiles, blocked, problems)
    assert drawn["base"]["canvases"] >= 4 and drawn["labels"]["canvases"] >= 4
    assert "OpenStreetMap contributors" in drawn["attribution"]
    assert len(drawn["names"]) >= 5 and len(CENTRAL_STREETS & set(drawn["names"])) >= 3, drawn["names"]

    # Closer, at the railway station: the minor streets are named too, and the view is all from the app.
    frame.evaluate(f"() => window.map.setView([{STATION[0]}, {STATION[1]}], 17, {{animate: false}})")
    frame.wait_for_function(
        f"() => {{ const d = ({DRAWN_JS})(); return d && d.zoom === 17 && d.names.length > 10; }}",
        timeout=60_000,
    )
    page.wait_for_timeout(1000)
    close = frame.evaluate(DRAWN_JS)
    page.locator(MAP_FRAME).last.screenshot(path=str(ARTIFACTS / "basemap-2-officer-zoom-17.png"))
    assert {"Mannerheimintie", "Kaivokatu"} <= set(close["names"]), close["names"]
    _check_tiles(site, tiles, blocked, problems)


def test_meeting_screen_draws_the_offline_basemap(site: Site, browser) -> None:
    page, blocked, problems, tiles = _open(browser, {"width": 1600, "height": 1100})
    page.goto(f"{site.base}/screen?code={site.code}")
    wait_for_app(page)
    frame = map_frame(page)
    drawn = _drawn(page, frame)
    _shot(page, "basemap-3-meeting-screen")
    _check_tiles(site, tiles, blocked, problems)
    assert "OpenStreetMap contributors" in drawn["attribution"]
    assert len(drawn["names"]) >= 3, drawn["names"]  # street names placed on the public map too
    # the public map draws no street lines of its own: the basemap is its geography
    assert frame.evaluate("() => document.querySelectorAll('path[stroke=\"#7a7a7a\"]').length") == 0
