"""The dashboard in a real browser (Debian's Chromium through Playwright) against one `streamlit run` server:
the officer's login and map, the details of a clicked place, the public meeting screen, a phone vote reaching
the live tally, the language switch, and rendering safety with script payloads in the store.

One server for the whole module, on a copy of the demo store with an officer, an open meeting and a few
hostile strings (an area name, concern texts, the meeting title and one item). Every request that would leave
the machine is refused and recorded (`only_local`). Screenshots: test-artifacts/browser-*.png (look at them).
Waits here are start-up waits with generous limits, never performance assertions (see bench/dashboard.py).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from koban_geo.community.accounts import add_user
from koban_geo.community.meetings import create_meeting, custom_candidate, open_meeting
from koban_geo.community.proposals import propose_candidates
from koban_geo.ingest import ingest_file
from koban_geo.privacy.audience import Audience, Policy
from koban_geo.store.db import connect
from koban_geo.store.resources import data_dir
from koban_geo.store.settings import Settings
from tests.browser import (
    CHROMIUM,
    MAP_FRAME,
    dashboard_server,
    log_in,
    map_frame,
    mark_maps,
    only_local,
    screenshot,
    wait_for_app,
    watch,
)
from ui.i18n import translate

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium (`make browser`)"),
]

OFFICER, PASSWORD = "olli", "a long officer passphrase"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
XSS_AREA = "HEL-112"  # Rautatientori, a busy square of the demo
WIDE = {"width": 1400, "height": 1100}
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}

# Leaflet, asked inside the map frame (st_folium keeps the map in window.map)
OVERLAYS_JS = (
    "() => Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
    ".map(l => l.innerText.trim())"
)
PATHS_JS = "() => document.querySelectorAll('path.leaflet-interactive').length"
INJECTED_JS = "() => ({xss: typeof window.__xss, imgs: document.querySelectorAll('img[src=\"x\"], img[onerror]').length})"
TIPS_JS = """() => { const tips = []; window.map.eachLayer(l => {
    if (l.feature && l.feature.properties && l.feature.properties.tip) tips.push(l.feature.properties.tip); });
    return tips; }"""
LAYERS_JS = """() => { const out = {types: {}, markers: 0, circles: 0};
    window.map.eachLayer(l => {
        if (l instanceof L.CircleMarker) out.circles++;
        else if (l instanceof L.Marker) out.markers++;
        if (l.feature && l.feature.geometry) {
            const kind = l.feature.geometry.type + (l.options.interactive === false ? ' (not interactive)' : '');
            out.types[kind] = (out.types[kind] || 0) + 1;
        }
    });
    out.icons = document.querySelectorAll('.leaflet-marker-icon, .leaflet-marker-shadow, .marker-cluster').length;
    out.canvases = document.querySelectorAll('canvas').length;
    return out; }"""
# Open the tooltip of the area whose name is given (Leaflet puts the tooltip into innerHTML: the XSS vector)
OPEN_AREA_TIP_JS = """(name) => { let hit = null;
    window.map.eachLayer(l => { if (!hit && l.feature && l.feature.properties && l.feature.properties.tip
        && l.getCenter && l.feature.properties.tip.includes(name)) hit = l; });
    if (!hit) return null;
    window.map.eachLayer(l => { if (l.closeTooltip) l.closeTooltip(); });
    hit.fire('mouseover', {latlng: hit.getCenter()}, true);  // as the pointer does: the layer's tooltip opens on it
    const open = document.querySelectorAll('.leaflet-tooltip'), tip = open[open.length - 1];
    return tip ? {text: tip.innerText, elements: tip.querySelectorAll('script, img').length} : null; }"""


@dataclass
class Site:
    base: str
    db: Path
    code: str
    title: str  # the meeting title as stored
    item: str  # the hostile item's label as stored
    labels_nl: list[str]  # the items as a Dutch phone shows them
    area_name: str  # as stored
    point: tuple[float, float]  # (lat, lon) inside the hostile area
    study_bounds: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat of every area
    xss_texts: list[str]  # the hostile concern texts as stored (after the scrubber)
    sample: list[str]  # a sample of every concern text in the store
    public_note: str


def _comma(value: float) -> str:
    return f"{value:.6f}".replace(".", ",")  # a Finnish export's decimal comma


def _prepare(db: Path, work: Path) -> dict[str, Any]:
    """Officer, hostile area name and concern texts, and an open meeting with a hostile title and item."""
    settings = Settings(db=db, tiles_url="")
    con = connect(db)
    try:
        doc = json.loads((data_dir() / "demo" / "neighbourhoods.geojson").read_text(encoding="utf-8"))
        feature = next(f for f in doc["features"] if f["properties"]["code"] == XSS_AREA)
        feature["properties"]["name"] = f"Rautatientori {SCRIPT} {IMG}"
        areas_file = work / "hostile-area.geojson"
        areas_file.write_text(
            json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8"
        )
        ingest_file(con, settings, areas_file, kind="areas")  # same code: the area is renamed, not added
        point: Any = con.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM areas WHERE code = ?)",
            [XSS_AREA],
        ).fetchone()
        lon, lat = point
        texts = [f"Melua asemalla {SCRIPT}", f"Roskia {IMG}", f"Molemmat {SCRIPT} ja {IMG}"]
        rows = ["tunnus;ilmoitettu;leveysaste;pituusaste;aihe;kuvaus"] + [
            f"XSS-{i};{20 - i:02d}.11.2026 12:00;{_comma(lat)};{_comma(lon)};Melu;{text}"
            for i, text in enumerate(texts)
        ]
        concerns_file = work / "hostile-concerns.csv"
        concerns_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
        result = ingest_file(con, settings, concerns_file, kind="concerns", source="hostile")
        assert result.accepted == len(texts), result
        stored = [
            r[0] for r in con.execute("SELECT description FROM concerns WHERE source = 'hostile'").fetchall()
        ]
        sample = [
            r[0]
            for r in con.execute(
                "SELECT description FROM concerns WHERE length(description) >= 16 ORDER BY hash(source, id) LIMIT 300"
            ).fetchall()
        ]
        add_user(con, OFFICER, PASSWORD, "officer", actor="test")
        areas = [XSS_AREA, "HEL-111", "HEL-113"]
        items = propose_candidates(con, settings, areas, None, None)[:3] + [
            custom_candidate(f"Asema {SCRIPT} {IMG}")
        ]
        meeting = create_meeting(con, title=f"Kamppi {SCRIPT} {IMG}", date=date(2026, 11, 30), areas=areas,
                                 actor=OFFICER, candidates=items)  # fmt: skip
        meeting = open_meeting(con, meeting.id, OFFICER)
        bounds: Any = con.execute(
            "SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom)) FROM areas"
        ).fetchone()
        name = con.execute("SELECT name FROM areas WHERE code = ?", [XSS_AREA]).fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    custom = next(c for c in meeting.candidates if c.kind == "custom")
    return {
        "code": meeting.code,
        "title": meeting.title,
        "item": custom.label("en"),
        "labels_nl": [c.label("nl") for c in meeting.candidates],
        "area_name": name,
        "point": (lat, lon),
        "study_bounds": tuple(bounds),
        "xss_texts": stored,
        "sample": sample,
        "public_note": Policy.for_audience(Audience.PUBLIC, settings).precision_note("en"),
    }


@pytest.fixture(scope="module")
def site(demo_db, tmp_path_factory):
    work = tmp_path_factory.mktemp("browser")
    db = work / "site.duckdb"
    shutil.copyfile(demo_db, db)
    facts = _prepare(db, work)
    with dashboard_server(db) as base:  # started after the store is ready: the server holds it from here on
        yield Site(base=base, db=db, **facts)


@dataclass
class Tab:
    page: Any
    blocked: list[str]  # requests that tried to leave the machine
    problems: list[str]  # console errors and page errors

    def clean(self) -> None:
        assert self.blocked == [], f"requests left the machine: {self.blocked[:5]}"
        assert self.problems == [], self.problems[:5]


def _tab(browser, **context: Any) -> Tab:
    page = browser.new_context(**context).new_page()
    return Tab(page, only_local(page), watch(page))


@pytest.fixture(scope="module")
def officer(browser, site) -> Tab:
    """A logged-in officer on the map (logged in through the form, as a person would)."""
    tab = _tab(browser, viewport=WIDE)
    log_in(tab.page, site.base, OFFICER, PASSWORD)
    return tab


@pytest.fixture(scope="module")
def screen(browser, site) -> Tab:
    """The meeting screen as the projector opens it: a fresh browser, no login."""
    tab = _tab(browser, viewport={"width": 1600, "height": 1300})
    tab.page.goto(f"{site.base}/screen?code={site.code}")
    wait_for_app(tab.page)
    map_frame(tab.page)
    return tab


@pytest.fixture(scope="module")
def phone(browser, site) -> Tab:
    """A resident's phone on the vote page (the app's plain HTML page, web/phone.py), in Dutch."""
    tab = _tab(browser, **PHONE)
    tab.page.goto(f"{site.base}/vote?meeting={site.code}&lang=nl")
    tab.page.locator('input[name="d0"]').wait_for(timeout=60_000)
    return tab


def _main_text(page) -> str:
    return page.inner_text('[data-testid="stMain"]')


def _click_map_at(page, frame, lat: float, lon: float) -> None:
    """A real mouse click on the map frame at a place (Leaflet converts the place to a frame pixel)."""
    spot = frame.evaluate(
        """([lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]);
           const r = window.map.getContainer().getBoundingClientRect(); return {x: r.left + p.x, y: r.top + p.y}; }""",
        [lat, lon],
    )
    box = page.locator(MAP_FRAME).last.bounding_box()
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])


def _open_details(site: Site, officer: Tab) -> None:
    """The details panel of the hostile area (clicked on the map unless already shown)."""
    page = officer.page
    heading = page.locator('[data-testid="stMain"] h3', has_text="Rautatientori")
    if heading.count():
        return
    _click_map_at(page, map_frame(page), *site.point)
    page.locator('[data-testid="stMetricLabel"]', has_text="Reports").first.wait_for(timeout=60_000)
    heading.first.wait_for(timeout=30_000)
    wait_for_app(page)


# ---------------------------------------------------------------------------------------------------------
# 1. Log in, the map and its layers
# ---------------------------------------------------------------------------------------------------------


def test_officer_logs_in_and_the_map_draws_its_layers(site, officer):
    page = officer.page
    frame = map_frame(page)
    screenshot(page, "browser-1-officer-map")
    assert page.get_by_role("heading", name="Problem map").is_visible()  # the officer landed on the map
    assert frame.evaluate("typeof L") == "object"  # Leaflet came from the local vendor folder
    paths = frame.evaluate(PATHS_JS)
    assert paths > 0
    assert frame.evaluate(OVERLAYS_JS) == ["Reports per area", "Hot and cold spots (Gi*)"]
    assert frame.evaluate("() => document.querySelectorAll('.koban-legend').length") == 1
    # The map opens on the study area, not on half of Finland: every area in view, and filling the map.
    view = frame.evaluate(
        """([w, s, e, n]) => { const m = window.map, b = L.latLngBounds([[s, w], [n, e]]);
           const a = m.latLngToContainerPoint(b.getNorthWest()), c = m.latLngToContainerPoint(b.getSouthEast());
           const size = m.getSize();
           return {inside: m.getBounds().pad(0.01).contains(b), fill: Math.max((c.x - a.x) / size.x, (c.y - a.y) / size.y)}; }""",
        list(site.study_bounds),
    )
    assert view["inside"], view
    assert view["fill"] > 0.75, view

    # An extra layer from the "Layers" picker redraws the map with it.
    mark_maps(page)
    picker = page.locator(".st-key-map-layers input")
    picker.click()
    picker.fill("Clusters")  # the option list is virtual: type to bring the option in
    page.get_by_role("option", name="Clusters (DBSCAN)").click()
    page.keyboard.press("Escape")
    redrawn = map_frame(page, fresh=True)
    wait_for_app(page)
    screenshot(page, "browser-1-officer-map-clusters")
    overlays = redrawn.evaluate(OVERLAYS_JS)
    assert overlays == ["Reports per area", "Hot and cold spots (Gi*)", "Clusters (DBSCAN)"]
    assert redrawn.evaluate(PATHS_JS) > paths  # the demo has a DBSCAN cluster in the last 12 months
    officer.clean()


# ---------------------------------------------------------------------------------------------------------
# 2. A click on the map opens the details of the place
# ---------------------------------------------------------------------------------------------------------


def test_clicking_an_area_opens_its_details(site, officer):
    page = officer.page
    hint = page.get_by_text("Click a hotspot cell or an area on the map")  # nothing chosen yet
    hint.wait_for(timeout=30_000)
    _open_details(site, officer)
    screenshot(page, "browser-2-details")
    text = _main_text(page)
    assert site.area_name in text
    assert page.locator('[data-testid="stMetricLabel"]', has_text="Reports").first.is_visible()
    total = page.locator('[data-testid="stMetricValue"]').first.inner_text()
    assert re.fullmatch(r"[\d,]+", total) and int(total.replace(",", "")) > 0, total
    assert "Recent reports (scrubbed)" in text
    officer.clean()


# ---------------------------------------------------------------------------------------------------------
# 3. The meeting screen: join code, precision note, no free text, no points
# ---------------------------------------------------------------------------------------------------------


def test_meeting_screen_shows_the_code_and_no_free_text_or_points(site, screen):
    page = screen.page
    frame = map_frame(page)
    wait_for_app(page)
    screenshot(page, "browser-3-meeting-screen")
    assert page.locator('[data-testid="join-code"]').inner_text().strip() == site.code
    text = _main_text(page)
    assert site.public_note in text  # the precision note, always on screen
    tips = frame.evaluate(TIPS_JS)
    assert tips, "the public map has tooltips on its areas and cells"
    frame_text = frame.inner_text("body")
    everything = "\n".join([text, frame_text, *tips])
    leaked = [d for d in [*site.xss_texts, *site.sample] if d in everything]
    assert leaked == [], f"concern texts on the public screen: {leaked[:3]}"
    layers = frame.evaluate(LAYERS_JS)
    assert layers["markers"] == 0 and layers["circles"] == 0 and layers["icons"] == 0, layers
    assert layers["canvases"] == 0, layers  # no heat layer
    interactive = {kind for kind in layers["types"] if "not interactive" not in kind}
    assert interactive <= {"Polygon", "MultiPolygon"}, layers  # areas and Gi* cells only
    assert not any(kind.startswith(("Point", "MultiPoint")) for kind in layers["types"]), layers
    assert frame.evaluate(OVERLAYS_JS) == ["Reports per area", "Hot and cold spots (Gi*)"]
    screen.clean()


# ---------------------------------------------------------------------------------------------------------
# 4. A phone votes; the screen's live tally counts it
# ---------------------------------------------------------------------------------------------------------


def test_a_phone_votes_and_the_screen_tally_counts_it(browser, site, screen, phone):
    votes = translate("Votes so far: {n}", "en")
    screen.page.get_by_text(votes.format(n=0), exact=True).wait_for(timeout=30_000)
    page = phone.page
    assert "device=" not in page.url  # the phone's token is an HttpOnly cookie, never in the address
    text = page.inner_text("body")
    assert all(label in text for label in site.labels_nl), (site.labels_nl, text)  # items in Dutch
    assert "Geluidsoverlast" in site.labels_nl  # the demo's noise theme, as a Dutch phone reads it
    for i, dots in enumerate((2, 1)):
        page.locator(f'input[name="d{i}"]').fill(str(dots))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360 + 1, f"the phone page scrolls sideways: {width} px"
    page.get_by_role("button", name=translate("Send my vote", "nl")).click()
    success = page.locator(".box.ok")
    success.wait_for(timeout=30_000)
    assert success.inner_text().strip() == translate("Your vote is counted.", "nl")
    screenshot(page, "browser-4-phone-voted")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1

    # One ballot alone never moves the public tally (it would tell that phone's vote: issue 13): it moves once
    # k phones (KOBAN_K_MIN, 5) have voted. Four more phones vote; the tally fragment reruns every 3 s.
    screen.page.wait_for_timeout(4_000)
    assert screen.page.get_by_text(votes.format(n=0), exact=True).is_visible()
    for _n in range(4):
        other = _tab(browser, **PHONE)
        other.page.goto(f"{site.base}/vote?meeting={site.code}&lang=nl")
        other.page.locator('input[name="d0"]').fill("1")
        other.page.get_by_role("button", name=translate("Send my vote", "nl")).click()
        other.page.locator(".box.ok").wait_for(timeout=30_000)
        other.clean()
        other.page.context.close()
    screen.page.get_by_text(votes.format(n=5), exact=True).wait_for(timeout=30_000)
    screenshot(screen.page, "browser-4-screen-tally")
    phone.clean()
    screen.clean()


# ---------------------------------------------------------------------------------------------------------
# 5. Language: ?lang= and the selector
# ---------------------------------------------------------------------------------------------------------


def _fresh_catalogue(lang: str) -> dict[str, str]:
    """koban_geo/locales/<lang>.po as it is now (another engineer is filling it while this runs)."""
    from babel.messages.pofile import read_po

    from ui.i18n import LOCALES

    with (LOCALES / f"{lang}.po").open("rb") as handle:
        cat = read_po(handle, locale=lang)
    return {m.id: str(m.string) for m in cat if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def _language(page) -> str:
    """The language the sidebar's select box shows."""
    return str(page.locator(".st-key-lang-switch input").input_value())


def test_language_switch_changes_the_texts(site, browser):
    fi = _fresh_catalogue("fi")
    user_fi, password_fi = fi.get("User name", "User name"), fi.get("Password", "Password")
    login_fi = fi.get("Log in", "Log in")

    by_link = _tab(browser, viewport=WIDE)  # the login form in the language of ?lang=
    by_link.page.goto(site.base + "/account/login?lang=fi")
    by_link.page.get_by_role("textbox", name=user_fi).wait_for(timeout=30_000)
    by_link.page.get_by_role("textbox", name=password_fi).wait_for(timeout=30_000)
    assert by_link.page.get_by_role("button", name=login_fi, exact=True).is_visible()
    screenshot(by_link.page, "browser-5-login-fi")

    by_select = _tab(browser, viewport=WIDE)  # the app's language switch, then its link to the login form
    page = by_select.page
    page.goto(site.base + "/")
    wait_for_app(page)
    assert _language(page) == "English"
    page.locator('[data-testid="login-link"]').wait_for()
    page.locator(".st-key-lang-switch input").click()
    page.get_by_role("option", name="Suomi").click()
    page.wait_for_url(re.compile(r"[?&]lang=fi"), timeout=30_000)  # a shared link keeps the language
    wait_for_app(page)
    assert _language(page) == "Suomi"
    login_link = page.locator('[data-testid="login-link"]')
    expect(login_link).to_have_text(login_fi, timeout=30_000)  # the rerun in Finnish may still be drawing
    login_link.click()
    page.get_by_role("textbox", name=user_fi).wait_for(timeout=30_000)
    screenshot(page, "browser-5-login-selector")
    by_link.clean()
    by_select.clean()


# ---------------------------------------------------------------------------------------------------------
# 6. Rendering safety: script payloads in the store stay text everywhere they are shown
# ---------------------------------------------------------------------------------------------------------


def _assert_map_tip_inert(page, site: Site, shot: str) -> None:
    """The area's tooltip on the page's map shows the hostile name as text, and nothing in the page or the map
    frame ran the injected script or image."""
    frame = map_frame(page)
    tip = frame.evaluate(OPEN_AREA_TIP_JS, "Rautatientori")
    screenshot(page, shot)
    assert tip is not None and site.area_name in tip["text"] and tip["elements"] == 0, tip
    for where in (page, frame):
        assert where.evaluate(INJECTED_JS) == {"xss": "undefined", "imgs": 0}


def test_script_payloads_in_the_store_are_shown_as_text(site, officer, screen, phone):
    assert all(SCRIPT in t or IMG in t for t in site.xss_texts), site.xss_texts  # the scrubber left them
    assert SCRIPT in site.area_name and SCRIPT in site.title and SCRIPT in site.item

    # Officer: the details panel (the area's name and its recent scrubbed reports) and the map's tooltips.
    page = officer.page
    _open_details(site, officer)
    text = _main_text(page)
    assert site.area_name in text
    for description in site.xss_texts:
        assert description in text, description
    _assert_map_tip_inert(page, site, "browser-6-officer-tooltip")

    # Meeting screen: the title, the item in the tally, the public map's tooltip.
    page = screen.page
    text = _main_text(page)
    assert site.title in text and site.item in text
    _assert_map_tip_inert(page, site, "browser-6-screen-tooltip")

    # Phone: the title and the item's label.
    page = phone.page
    text = page.inner_text("body")
    assert site.title in text and site.item in text
    assert page.evaluate(INJECTED_JS) == {"xss": "undefined", "imgs": 0}
    screenshot(page, "browser-6-phone")
    for tab in (officer, screen, phone):
        tab.clean()
