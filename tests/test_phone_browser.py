"""The phone page in real Chromium with JavaScript switched OFF, as a resident's phone 360 px wide
(docs/journeys.md): vote, reload, open a new tab and edit the same ballot; and issue 15's journey 6, "any
phone can vote as Officer", which is no longer possible: only the officers' code makes an officer's ballot.

Each test runs the real server (`streamlit run dashboard/server.py`) against its own store; the counts are
read from the store after the server stops (it holds the store while it runs)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from koban_geo.community.admission import group_codes
from koban_geo.community.meetings import create_meeting, open_meeting, theme_candidate
from koban_geo.community.voting import results
from koban_geo.store.db import connect
from tests.browser import dashboard_server, needs_chromium, only_local, screenshot
from ui.i18n import translate

pytestmark = needs_chromium
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
         "java_script_enabled": False}  # fmt: skip


def _store(folder: Path) -> tuple[Path, str, int, dict[str, str]]:
    db = folder / "koban.duckdb"
    con = connect(db)
    try:
        con.execute(
            "INSERT INTO areas (code, name, geom, batch_id) VALUES ('P-1', 'Kallio', ST_GeomFromText("
            "'POLYGON((24.94 60.18, 24.96 60.18, 24.96 60.19, 24.94 60.19, 24.94 60.18))'), 0)"
        )
        m = create_meeting(con, title="Kallio evening", date=date(2026, 12, 1), areas=["P-1"], actor="olli",
                           candidates=[theme_candidate(t) for t in ("noise", "asb", "litter")])  # fmt: skip
        m = open_meeting(con, m.id, "olli")
        codes = dict(group_codes(con, m.id, "olli"))
    finally:
        con.close()
    return db, m.code, m.id, codes


def _results(db: Path, meeting_id: int):
    con = connect(db, read_only=True)
    try:
        revisions = dict(con.execute("SELECT role, max(revision) FROM ballots GROUP BY role").fetchall())
        return results(con, meeting_id), revisions
    finally:
        con.close()


def test_a_phone_without_javascript_votes_and_a_reload_or_new_tab_edits_the_same_ballot(tmp_path, browser):
    db, code, meeting_id, _ = _store(tmp_path)
    with dashboard_server(db) as base:
        context = browser.new_context(locale="nl-NL", **PHONE)  # the phone's language comes from the browser
        page = context.new_page()
        blocked = only_local(page)
        page.goto(f"{base}/vote?meeting={code}")  # what the QR code holds
        assert page.locator("html").get_attribute("lang") == "nl"
        assert "device=" not in page.url
        page.locator('input[name="d0"]').fill("2")
        page.locator('input[name="d1"]').fill("1")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
        page.get_by_role("button", name=translate("Send my vote", "nl")).click()
        page.locator(".box.ok").wait_for()
        assert page.locator(".box.ok").inner_text() == translate("Your vote is counted.", "nl")
        screenshot(page, "phone-nojs-1-voted")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1

        page.reload()  # a reload (of the 303's page) shows the ballot; nothing is sent twice
        assert page.locator('input[name="d0"]').input_value() == "2"
        tab = context.new_page()  # a rescan of the QR code opens a new tab with the same cookie
        tab.goto(f"{base}/vote?meeting={code}&lang=nl")
        assert tab.get_by_text(
            translate("You have voted. Sending again replaces your vote.", "nl")
        ).is_visible()
        tab.locator('input[name="d0"]').fill("0")
        tab.locator('input[name="d2"]').fill("1")
        tab.get_by_role("button", name=translate("Send my vote", "nl")).click()
        changed = translate("Your vote is counted. You changed it {n} times.", "nl").format(n=1)
        assert tab.locator(".box.ok").inner_text() == changed
        screenshot(tab, "phone-nojs-2-changed")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["koban_device"]["httpOnly"] and cookies["koban_device"]["sameSite"] == "Lax"
        assert blocked == []
    outcome, revisions = _results(db, meeting_id)
    assert outcome.ballots == 1 and revisions == {"resident": 2}
    assert dict(outcome.groups["resident"].ballot_points) == {
        "theme:noise": 0,
        "theme:asb": 1,
        "theme:litter": 1,
    }


def test_journey_6_no_phone_can_vote_as_officer_without_the_officers_code(tmp_path, browser):
    db, code, meeting_id, codes = _store(tmp_path)
    with dashboard_server(db) as base:
        resident = browser.new_context(**PHONE).new_page()
        resident.goto(f"{base}/vote?meeting={code}&lang=en")
        # No role picker: nothing on the page lets a phone say "Officer" or "Partner".
        assert resident.get_by_role("radio").count() == 0
        assert resident.locator('[name="role"]').count() == 0
        resident.locator('input[name="d0"]').fill("1")
        resident.get_by_role("button", name="Send my vote").click()
        resident.locator(".box.ok").wait_for()

        pretender = browser.new_context(**PHONE).new_page()
        pretender.goto(f"{base}/vote?meeting={code}&lang=en")
        pretender.locator('input[name="d1"]').fill("2")
        pretender.get_by_text("Group code").click()  # <details> opens without JavaScript
        pretender.get_by_role("textbox", name="Group code").fill("OFFICER1")
        pretender.get_by_role("button", name="Send my vote").click()
        pretender.get_by_role("alert").wait_for()
        assert "This group code is not valid for this meeting." in pretender.get_by_role("alert").inner_text()
        screenshot(pretender, "phone-nojs-3-wrong-group-code")

        officer = browser.new_context(**PHONE).new_page()
        officer.goto(f"{base}/vote?meeting={code}&lang=en")
        officer.locator('input[name="d2"]').fill("2")
        officer.get_by_text("Group code").click()
        officer.get_by_role("textbox", name="Group code").fill(codes["officer"].lower())
        officer.get_by_role("button", name="Send my vote").click()
        officer.locator(".box.ok").wait_for()
        assert officer.get_by_text("You vote as: Officers").is_visible()
        screenshot(officer, "phone-nojs-4-officer")
    outcome, _ = _results(db, meeting_id)
    participants = {role: g.participants for role, g in outcome.groups.items()}
    assert participants == {"resident": 1, "officer": 1, "partner": 0}
    assert outcome.groups["officer"].ballot_points["theme:litter"] == 2
