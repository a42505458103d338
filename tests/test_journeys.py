"""Journeys that never trip (issue 15): an officer's real journeys in Chromium, clicked as a person clicks.

One server for the module, on a demo store built *today* (journey 9: the demo ends on the day it is built,
so "Last 4 weeks" has data on first use), with an officer and two open meetings. The journeys run in order
on one logged-in tab, as one officer's afternoon: meetings (2, 3), turning a place into a problem (4),
exports that follow the map (5), words instead of codes (7), the language switch (8). Assertions are on what
the person sees; screenshots in test-artifacts/journey-*.png (look at them). docs/journeys.md maps each
journey to its test. Waits are start-up waits, never performance assertions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from koban_geo.community.accounts import add_user
from koban_geo.community.meetings import create_meeting, open_meeting, theme_candidate
from koban_geo.ops.demo import build_demo
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from tests.browser import (
    CHROMIUM,
    dashboard_server,
    go_to,
    log_in,
    map_frame,
    mark_maps,
    only_local,
    screenshot,
    wait_for_app,
    watch,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium (`make browser`)"),
]

OFFICER, PASSWORD = "olga", "a long journey passphrase"
WIDE = {"width": 1400, "height": 1100}
FIRST, SECOND = "Kamppi evening", "Kluuvi morning"  # SECOND has the later date: first in the list


@dataclass
class Site:
    base: str
    db: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("journeys")
    db = work / "today.duckdb"
    settings = Settings(db=db, tiles_url="")
    con = connect(db)
    try:
        build_demo(con, settings, work / "inputs")  # no last_day: the demo ends today, as `koban-geo demo`
        add_user(con, OFFICER, PASSWORD, "officer", actor="test")
        items = [theme_candidate("noise"), theme_candidate("litter"), theme_candidate("drugs")]
        for title, days in ((FIRST, 7), (SECOND, 14)):
            made = create_meeting(con, title=title, date=date.today() + timedelta(days=days),
                                  areas=["HEL-112", "HEL-111"], actor=OFFICER, candidates=items)  # fmt: skip
            open_meeting(con, made.id, OFFICER)
    finally:
        con.close()
    with dashboard_server(db) as base:
        yield Site(base, db)


@dataclass
class Tab:
    page: Any
    blocked: list[str]
    problems: list[str]

    def clean(self) -> None:
        assert self.blocked == [], f"requests left the machine: {self.blocked[:5]}"
        assert self.problems == [], self.problems[:5]


@pytest.fixture(scope="module")
def officer(site, browser):
    context = browser.new_context(viewport=WIDE, accept_downloads=True)
    page = context.new_page()
    tab = Tab(page, only_local(page), watch(page))
    log_in(page, site.base, OFFICER, PASSWORD)
    yield tab
    context.close()


def _main(page) -> str:
    return page.inner_text('[data-testid="stMain"]')


def _pick(page, key: str, option: str | re.Pattern[str]) -> None:
    """Choose an option of the select box with widget key `key` (click it, then the option)."""
    page.locator(f".st-key-{key} input").click()
    page.get_by_role("option", name=option).first.click()
    wait_for_app(page)


def _shown(page, key: str) -> str:
    """The text a select box shows as its value."""
    return str(page.locator(f".st-key-{key} input").input_value())


def _chips(page, key: str):
    """The chosen values (chips) of the multiselect with widget key `key`."""
    return page.locator(f".st-key-{key} .react-aria-ComboBox [data-tag]")


# ---------------------------------------------------------------------------------------------------------
# 9. The demo looks alive today
# ---------------------------------------------------------------------------------------------------------


def test_journey_9_the_demo_has_reports_in_the_last_four_weeks(site, officer):
    page = officer.page
    mark_maps(page)
    _pick(page, "map-preset", "Last 4 weeks")
    frame = map_frame(page, fresh=True)
    wait_for_app(page)
    screenshot(page, "journey-9-last-4-weeks")
    tips = frame.evaluate(
        "() => { const t = []; window.map.eachLayer(l => { if (l.feature && l.feature.properties"
        " && l.feature.properties.tip) t.push(l.feature.properties.tip); }); return t; }"
    )
    counts = [
        int(re.sub(r"\D", "", m.group(1)))
        for tip in tips
        for m in [re.search(r"Reports: ([\d,  ]+)", tip)]
        if m
    ]
    assert sum(counts) >= 100, tips[:5]  # the areas have reports from the last four weeks
    _pick(page, "map-preset", "Last 12 months")
    officer.clean()


# ---------------------------------------------------------------------------------------------------------
# 2. Meetings: the selection stays, a double click closes once, a closed meeting offers its results
# ---------------------------------------------------------------------------------------------------------


def test_journey_2_close_voting_keeps_the_meeting_and_a_double_click_closes_once(site, officer):
    page = officer.page
    go_to(page, "Meetings")
    assert SECOND in _shown(page, "meeting-pick")  # the newest date comes first
    _pick(page, "meeting-pick", re.compile(FIRST))
    assert FIRST in _shown(page, "meeting-pick")
    page.get_by_text("Phones can no longer vote; the results become final.").wait_for()  # says what it does
    page.locator(".st-key-meeting-close button").dblclick()  # the officer's double click
    page.get_by_text("Voting is closed.").wait_for(timeout=30_000)
    wait_for_app(page)
    screenshot(page, "journey-2-closed")
    shown = _shown(page, "meeting-pick")
    assert FIRST in shown and "closed" in shown  # still the same meeting, now closed
    assert page.locator(".st-key-meeting-reopen button").is_visible()
    assert page.locator(".st-key-meeting-open button").count() == 0  # nothing to re-open by accident
    assert "Only an open meeting" not in _main(page) and "nothing was changed" not in _main(page)
    page.locator(".st-key-meeting-pick input").click()  # the other meeting is still open
    assert page.get_by_role("option", name=re.compile(SECOND + ".*voting open")).count() == 1
    page.keyboard.press("Escape")
    assert page.get_by_text("Results", exact=True).first.is_visible()

    page.get_by_role("link", name=re.compile("You said, we did.*this meeting")).click()
    wait_for_app(page)
    page.get_by_role("heading", name="You said", exact=True).wait_for(timeout=30_000)
    assert FIRST in _shown(page, "outcomes-meeting")
    screenshot(page, "journey-2-outcomes")
    text = _main(page)
    assert "Drugs · Drugs" not in text and not re.search(r"^(\d+)\. .*\n\1\. ", text, re.M)
    officer.clean()


def test_journey_2_reopen_says_what_it_does_and_keeps_the_meeting(site, officer):
    page = officer.page
    go_to(page, "Meetings")
    _pick(page, "meeting-pick", re.compile(FIRST))
    page.get_by_text("Phones can vote again; the ballots already cast stay.").wait_for()
    page.locator(".st-key-meeting-reopen button").click()
    page.get_by_text("Voting is open again.").wait_for(timeout=30_000)
    shown = _shown(page, "meeting-pick")
    assert FIRST in shown and "voting open" in shown
    page.locator(".st-key-meeting-close button").click()  # closed again for the exports below
    page.get_by_text("Voting is closed.").wait_for(timeout=30_000)
    officer.clean()


# ---------------------------------------------------------------------------------------------------------
# 3. New meetings: proposals pre-selected, never empty, one item is not enough to open
# ---------------------------------------------------------------------------------------------------------


def test_journey_3_proposals_are_preselected_and_an_empty_meeting_is_refused(site, officer):
    page = officer.page
    go_to(page, "Meetings")
    page.get_by_text("Prepare a new meeting").click()
    page.locator(".st-key-new-meeting-title input").fill("Spring walk")
    page.locator(".st-key-new-meeting-areas input").click()
    page.locator(".st-key-new-meeting-areas input").fill("Kamppi")
    page.get_by_role("option", name=re.compile("Kamppi")).first.click()
    page.keyboard.press("Escape")
    chips = _chips(page, "new-meeting-items")
    chips.first.wait_for(timeout=60_000)
    wait_for_app(page)
    proposed = chips.count()
    screenshot(page, "journey-3-proposed")
    assert proposed >= 2  # every proposal is chosen until the officer drops it

    page.locator(".st-key-new-meeting-items").get_by_role(
        "button", name="Clear all"
    ).click()  # drops them all
    wait_for_app(page)
    assert chips.count() == 0
    page.locator(".st-key-new-meeting-create button").click()
    page.get_by_text("A meeting needs at least one item to vote on").wait_for(timeout=30_000)
    screenshot(page, "journey-3-refused")

    page.locator(".st-key-new-meeting-extra textarea").fill("Lights on the stairs")
    page.locator(".st-key-new-meeting-create button").click()
    page.get_by_text("Meeting created.").wait_for(timeout=30_000)
    wait_for_app(page)
    assert "Spring walk" in _shown(page, "meeting-pick")  # the new meeting is the one shown
    assert page.locator(".st-key-meeting-open button").is_disabled()  # one item: no vote to hold
    assert page.get_by_text("A meeting needs at least two items to vote on before it opens.").is_visible()
    screenshot(page, "journey-3-one-item")
    officer.clean()


# ---------------------------------------------------------------------------------------------------------
# 4. Turn into a problem from "All themes"
# ---------------------------------------------------------------------------------------------------------


def _click_area(page, name: str) -> None:
    """A real click in the middle of the area whose tooltip names it, then wait for its details."""
    frame = map_frame(page)
    spot = frame.evaluate(
        """(name) => { let hit = null; window.map.eachLayer(l => { if (!hit && l.feature && l.getCenter
            && l.feature.properties && (l.feature.properties.tip || '').includes(name)) hit = l; });
            const p = window.map.latLngToContainerPoint(hit.getCenter());
            const r = window.map.getContainer().getBoundingClientRect(); return {x: r.left + p.x, y: r.top + p.y}; }""",
        name,
    )
    box = page.locator("iframe[title='streamlit_folium.st_folium']").last.bounding_box()
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    page.locator('[data-testid="stMetricLabel"]').first.wait_for(timeout=60_000)
    wait_for_app(page)


def test_journey_4_turn_into_a_problem_with_all_themes(site, officer):
    page = officer.page
    go_to(page, "Problem map")
    assert _chips(page, "map-themes").count() == 0  # "All themes"
    _click_area(page, "Rautatientori")
    page.locator(".st-key-to-problem-area button").click()
    dialog = page.locator('[data-testid="stDialog"]')
    dialog.wait_for(timeout=30_000)
    themes = dialog.locator(".react-aria-ComboBox [data-tag]")
    themes.first.wait_for(timeout=30_000)
    screenshot(page, "journey-4-dialog")
    assert themes.count() >= 1  # the themes the place has reports of, ready to keep or change
    dialog.get_by_role("button", name="Create the problem card").click()
    page.get_by_text(re.compile(r"Problem card \d+ created")).wait_for(timeout=30_000)
    assert "at least one theme" not in _main(page)
    screenshot(page, "journey-4-created")
    officer.clean()


# ---------------------------------------------------------------------------------------------------------
# 7. Words, not codes
# ---------------------------------------------------------------------------------------------------------


def test_journey_7_details_and_the_card_speak_words(site, officer):
    page = officer.page
    go_to(page, "Problem map")
    _click_area(page, "Rautatientori")
    text = _main(page)
    screenshot(page, "journey-7-details")
    assert not re.search(r"\b(asb|property|environment|traffic|violence|drugs|other):", text)
    assert "Kind of problem" in text or "Concerns and recorded crime" not in text

    go_to(page, "Problems (SARA)")
    page.get_by_role("tab", name="Analysis").click()
    page.get_by_text("Recorded crime in the place").wait_for()
    screenshot(page, "journey-7-analysis")
    assert page.locator('[data-testid="stJson"]').count() == 0  # tables, not raw JSON
    analysis = _main(page)
    assert "Crime type" in analysis and ("Street lights" in analysis or "Licensed premises" in analysis)
    assert "streetlights" not in analysis and "licensed_premises" not in analysis
    page.get_by_role("tab", name="Scanning").click()
    scanning = _main(page)
    if "Groups of reports" in scanning:
        assert "count once, as one group" in scanning  # why two numbers differ, said beside them
    officer.clean()


# ---------------------------------------------------------------------------------------------------------
# 5. Exports follow the map
# ---------------------------------------------------------------------------------------------------------


def test_journey_5_exports_follow_the_map_and_never_offer_a_stale_file(site, officer, tmp_path):
    page = officer.page
    go_to(page, "Problem map")
    map_frame(page)
    mark_maps(page)
    _pick(page, "map-preset", "Last 3 months")
    map_frame(page, fresh=True)  # the officer sees the 3-month map, then goes to the exports
    assert "Last 3 months" in _shown(page, "map-preset")
    go_to(page, "Exports")
    assert "Last 3 months" in _shown(page, "export-flt-preset")  # the map's window, not all time
    _pick(page, "export-what", "Hotspot cells (Gi*)")
    page.get_by_text("This file will hold:").wait_for()
    page.locator(".st-key-export-prepare button").click()
    button = page.locator(".st-key-export-download-0 button")
    button.wait_for(timeout=60_000)
    with page.expect_download() as info:
        button.click()
    path = tmp_path / "hotspots.geojson"
    info.value.save_as(path)
    meta = json.loads(path.read_text(encoding="utf-8"))["koban"]
    since = datetime.fromisoformat(meta["filters"]["since"])
    assert abs((date.today() - since.date()).days - 90) <= 2, meta["filters"]
    screenshot(page, "journey-5-geojson")

    page.locator(".st-key-export-format").get_by_text("CSV", exact=True).click()  # another format
    page.get_by_text("The choice has changed").wait_for(timeout=30_000)
    wait_for_app(page)
    screenshot(page, "journey-5-changed")
    assert page.locator(".st-key-export-download-0").count() == 0  # the GeoJSON is no longer on offer
    page.locator(".st-key-export-prepare button").click()
    page.locator(".st-key-export-download-1 button").wait_for(timeout=60_000)  # the CSV and its metadata
    with page.expect_download() as info:
        page.locator(".st-key-export-download-1 button").click()
    sidecar = tmp_path / "meta.json"
    info.value.save_as(sidecar)
    assert (
        json.loads(sidecar.read_text(encoding="utf-8"))["koban"]["filters"]["since"]
        == meta["filters"]["since"]
    )
    screenshot(page, "journey-5-csv")
    officer.clean()


# ---------------------------------------------------------------------------------------------------------
# 8. A complete language switch
# ---------------------------------------------------------------------------------------------------------


def test_journey_8_switching_language_changes_every_label_and_value_at_once(site, officer):
    from ui.i18n import translate

    page = officer.page
    go_to(page, "Problem map")
    page.locator(".st-key-lang-switch input").click()
    page.get_by_role("option", name="Nederlands").click()
    page.wait_for_url(re.compile(r"[?&]lang=nl"), timeout=30_000)
    wait_for_app(page)
    map_frame(page)
    screenshot(page, "journey-8-dutch")
    # Every value in Dutch at once, the same choice as before the switch (widgets keyed per language)
    assert _shown(page, "map-preset-nl") == translate("Last 3 months", "nl")  # chosen in journey 5
    chips = _chips(page, "map-layers-nl").all_inner_texts()
    assert translate("Reports per area", "nl") in chips and "Reports per area" not in chips, chips
    assert _shown(page, "map-audience-nl") == translate("Officer", "nl")
    main = _main(page)
    assert translate("Problem map", "nl") in main and "Problem map" not in main
    page.locator(".st-key-lang-switch input").click()
    page.get_by_role("option", name="English").click()
    wait_for_app(page)
    assert _shown(page, "map-preset") == "Last 3 months"  # back in English, still the same choice
    officer.clean()
