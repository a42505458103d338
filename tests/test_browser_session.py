"""Journey 1 of issue 15 in real Chromium: a login that survives a reload, a second tab and a bookmark, a
logout that ends every tab, and a staff address opened while logged out that leads through the login to the
page asked for. Plus the meeting screen with an area named like a tracking image: no request to that host,
and the Content-Security-Policy on the page. Screenshots: test-artifacts/journey-1-*.png (look at them).
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from koban_geo.community.accounts import add_user
from koban_geo.community.meetings import create_meeting, custom_candidate, open_meeting
from koban_geo.community.proposals import propose_candidates
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from tests.browser import CHROMIUM, dashboard_server, screenshot, wait_for_app, watch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium (`make browser`)"),
]

OFFICER, PASSWORD = "olli", "a long officer passphrase"
BEACON_HOST = "127.0.0.2:9"
BEACON = f"![a](http://{BEACON_HOST}/px.png)"
WIDE = {"width": 1400, "height": 1000}


@pytest.fixture(scope="module")
def site(demo_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("journey1") / "site.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db, tiles_url="")
    con = connect(db)
    try:
        add_user(con, OFFICER, PASSWORD, "officer", actor="test")
        areas = [r[0] for r in con.execute("SELECT code FROM areas ORDER BY code LIMIT 3").fetchall()]
        con.execute("UPDATE areas SET name = ? WHERE code = ?", [BEACON, areas[0]])
        items = propose_candidates(con, settings, areas, None, None)[:3] + [custom_candidate(BEACON)]
        meeting = create_meeting(con, title="Kamppi", date=date(2026, 12, 1), areas=areas, actor=OFFICER,
                                 candidates=items)  # fmt: skip
        open_meeting(con, meeting.id, OFFICER)
        labels = [c.label("en") for c in items]
    finally:
        con.close()
    assert BEACON in labels  # an item of the live tally, and the name of an area on the map
    with dashboard_server(db) as base:
        yield {"base": base, "code": meeting.code}


def _heading(page, name: str) -> None:
    page.get_by_role("heading", name=name).first.wait_for(timeout=60_000)


def test_journey_1_a_login_survives_reload_tab_and_bookmark_and_logout_ends_every_tab(site, browser):
    base = site["base"]
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    problems = watch(page)

    # Logged out, the officer opens a staff address: the login form, then the page asked for.
    page.goto(f"{base}/meetings")
    assert "/account/login?next=%2Fmeetings" in page.url
    screenshot(page, "journey-1-login-form")
    page.get_by_role("textbox", name="User name").fill(OFFICER)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/meetings", timeout=60_000)
    wait_for_app(page)
    _heading(page, "Meetings")
    screenshot(page, "journey-1-meetings-after-login")
    cookie = next(c for c in context.cookies() if c["name"] == "koban_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and len(cookie["value"]) >= 80

    page.reload()  # F5 keeps the login
    wait_for_app(page)
    _heading(page, "Meetings")

    second = context.new_page()  # a second tab
    second.goto(f"{base}/problems")
    wait_for_app(second)
    _heading(second, "Problems (SARA)")

    bookmark = context.new_page()  # a bookmark opened later
    bookmark.goto(f"{base}/exports")
    wait_for_app(bookmark)
    _heading(bookmark, "Exports")
    bookmark.close()

    # Log out in the first tab (the Account page's button posts to the server).
    page.goto(f"{base}/login")
    wait_for_app(page)
    _heading(page, "Account")
    screenshot(page, "journey-1-account")
    page.locator('[data-testid="logout"]').click()
    page.wait_for_url("**/account/login**", timeout=60_000)
    assert "koban_session" not in {c["name"] for c in context.cookies()}

    # The second tab finds out at its next run: a click in it, then a reload.
    second.get_by_role("link", name="Meetings").first.click()
    second.get_by_text("Your session has ended. Please log in again.").wait_for(timeout=60_000)
    second.locator('[data-testid="stMain"] a[href^="/account/login?next=%2Fmeetings"]').wait_for(
        timeout=30_000
    )
    screenshot(second, "journey-1-second-tab-ended")
    second.reload()
    assert "/account/login" in second.url
    page.goto(f"{base}/map")
    assert "/account/login?next=%2Fmap" in page.url
    assert problems == [], problems[:5]
    context.close()


def test_the_meeting_screen_loads_nothing_from_a_hostile_area_name_and_sends_the_csp(site, browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    context.on("request", lambda r: requests.append(r.url))
    response = page.goto(f"{site['base']}/screen?code={site['code']}")
    assert response is not None
    csp = response.headers.get("content-security-policy", "")
    assert "img-src 'self' data: blob:" in csp and "default-src 'self'" in csp
    wait_for_app(page)
    page.get_by_text("Votes so far: 0").wait_for(timeout=60_000)
    page.wait_for_timeout(3500)  # one refresh of the live tally
    screenshot(page, "journey-1-screen-beacon")
    main = page.inner_text('[data-testid="stMain"]').replace("\u2060", "")  # ui.text.JOINER, invisible
    assert BEACON in main  # the name shown literally in the tally
    assert not [u for u in requests if BEACON_HOST in u], [u for u in requests if BEACON_HOST in u]
    made = page.eval_on_selector_all(
        '[data-testid="stMain"] img[src*="127.0.0.2"], [data-testid="stMain"] a[href*="127.0.0.2"]',
        "els => els.map(e => e.parentElement.outerHTML.slice(0, 400))",
    )
    assert made == [], made  # no image or link element from the name (the CSP would stop a request anyway)
    context.close()
