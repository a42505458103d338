"""The map-first officer screen and the projector-first meeting screen in a real browser (issue 14), and
axe-core on the four pages people use: log-in, meeting screen, phone vote, officer map.

One server on a copy of the demo store with an officer and an open meeting. Every request that would leave
the machine is refused. Screenshots: test-artifacts/screen-*.png (look at them). Waits are start-up waits,
never performance assertions.
"""

from __future__ import annotations

import shutil
from datetime import date
from typing import Any

import pytest

from koban_geo.community.accounts import add_user
from koban_geo.community.meetings import create_meeting, open_meeting
from koban_geo.community.proposals import propose_candidates
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from tests.a11y import violations
from tests.browser import (
    CHROMIUM,
    MAP_FRAME,
    dashboard_server,
    log_in,
    map_frame,
    only_local,
    screenshot,
    wait_for_app,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium (`make browser`)"),
]
OFFICER, PASSWORD = "olli", "a long officer passphrase"
PUBLIC_URL = "http://10.0.0.5:8501"
AREAS = ["HEL-112", "HEL-111", "HEL-113"]

# The map frame's box inside the viewport, and the page's own scrolling.
VISIBLE_JS = f"""() => {{
    const r = document.querySelector("{MAP_FRAME}").getBoundingClientRect();
    const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
    const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
    const main = document.querySelector('[data-testid="stMain"]');
    return {{share: w * h / (innerWidth * innerHeight), box: [r.left, r.top, r.width, r.height],
            scroll: document.documentElement.scrollHeight, inner: innerHeight,
            mainScroll: main ? main.scrollHeight - main.clientHeight : 0,
            mainTop: main ? main.scrollTop : 0}};
}}"""
INSIDE_JS = """(selector) => { const e = document.querySelector(selector); if (!e) return null;
    const r = e.getBoundingClientRect();
    return {inside: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 0.5
            && r.bottom <= innerHeight + 0.5, box: [r.left, r.top, r.width, r.height],
            font: parseFloat(getComputedStyle(e).fontSize)}; }"""


@pytest.fixture(scope="module")
def site(demo_db, tmp_path_factory):
    work = tmp_path_factory.mktemp("screens")
    db = work / "site.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db, tiles_url="")
    con = connect(db)
    try:
        add_user(con, OFFICER, PASSWORD, "officer", actor="test")
        items = propose_candidates(con, settings, AREAS, None, None)[:6]
        meeting = create_meeting(con, title="Kamppi and the station", date=date(2026, 11, 30), areas=AREAS,
                                 actor=OFFICER, candidates=items)  # fmt: skip
        meeting = open_meeting(con, meeting.id, OFFICER)
        point: Any = con.execute(
            "SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM areas WHERE code = 'HEL-112')"
        ).fetchone()
    finally:
        con.close()
    with dashboard_server(db, env={"KOBAN_PUBLIC_URL": PUBLIC_URL}) as base:
        yield {"base": base, "code": meeting.code, "point": tuple(point)}


def _page(browser, **context: Any) -> tuple[Any, list[str]]:
    page = browser.new_context(**context).new_page()
    return page, only_local(page)


@pytest.fixture(scope="module")
def officer(browser, site):
    page, blocked = _page(browser, viewport={"width": 1400, "height": 900})
    log_in(page, site["base"], OFFICER, PASSWORD)  # the server's login form (web.login), then "/": the map
    page.wait_for_timeout(800)
    yield page
    assert blocked == [], blocked[:5]


def test_officer_map_fills_the_window_and_one_click_opens_details(officer, site):
    page = officer
    before = page.evaluate(VISIBLE_JS)
    screenshot(page, "screen-officer-map-1400x900")
    assert before["share"] >= 0.60, before
    assert before["scroll"] <= before["inner"] and before["mainScroll"] <= 1, before  # nothing scrolls
    frame = map_frame(page)
    spot = frame.evaluate(
        """([lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]);
           const r = window.map.getContainer().getBoundingClientRect(); return {x: r.left + p.x, y: r.top + p.y}; }""",
        list(site["point"]),
    )
    box = page.locator(MAP_FRAME).last.bounding_box()
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])  # once
    page.locator(".st-key-map-details [data-testid='stMetricLabel']", has_text="Reports").first.wait_for(
        timeout=60_000
    )
    wait_for_app(page)
    after = page.evaluate(VISIBLE_JS)
    screenshot(page, "screen-officer-details-1400x900")
    assert after["share"] >= 0.60 and after["box"] == before["box"], (before, after)  # the map keeps its size
    assert after["mainTop"] == before["mainTop"] == 0, after  # no scroll jump
    assert page.locator(".st-key-map-details h3").first.is_visible()


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_meeting_screen_fits_a_projector(browser, site, size):
    width, height = size
    page, blocked = _page(browser, viewport={"width": width, "height": height})
    page.goto(f"{site['base']}/screen?code={site['code']}")
    wait_for_app(page)
    frame = map_frame(page)
    page.get_by_text("Votes so far: 0", exact=True).wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    screenshot(page, f"screen-meeting-{width}x{height}")
    layout = page.evaluate(VISIBLE_JS)
    assert layout["scroll"] <= layout["inner"] and layout["mainScroll"] <= 1, layout
    found = {name: page.evaluate(INSIDE_JS, selector) for name, selector in {
        "map": MAP_FRAME, "tally": "[data-testid='tally-bars']", "qr": "img.koban-qr",
        "url": "[data-testid='join-url']", "code": "[data-testid='join-code']",
        "label": ".koban-bar-label"}.items()}  # fmt: skip
    assert all(f and f["inside"] for f in found.values()), found
    assert page.inner_text("[data-testid='join-url']").strip() == f"{PUBLIC_URL}/vote?meeting={site['code']}"
    assert not page.locator("[data-testid='stSidebar']").is_visible()
    legend = frame.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('.koban-legend')).fontSize)"
    )
    assert legend >= 18, legend
    if width >= 1920:
        assert found["label"]["font"] >= 28, found["label"]
    assert blocked == [], blocked[:5]


def _no_serious(page, name: str) -> None:
    found = violations(page)
    assert found == [], f"{name}: {found}"


def test_axe_login_page(browser, site):
    page, _blocked = _page(browser, viewport={"width": 1400, "height": 900})
    page.goto(site["base"] + "/account/login")  # the server's login form (web.login)
    page.get_by_role("textbox", name="User name").wait_for(timeout=60_000)
    _no_serious(page, "login")


def test_axe_meeting_screen(browser, site):
    page, _blocked = _page(browser, viewport={"width": 1920, "height": 1080})
    page.goto(f"{site['base']}/screen?code={site['code']}")
    wait_for_app(page)
    map_frame(page)
    _no_serious(page, "meeting screen")


def test_axe_phone_page(browser, site):
    page, _blocked = _page(browser, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page.goto(f"{site['base']}/vote?meeting={site['code']}")  # the plain HTML phone page (web/phone.py)
    page.locator('input[name="d0"]').wait_for(timeout=60_000)
    _no_serious(page, "phone")


def test_axe_officer_map(officer):
    _no_serious(officer, "officer map")
