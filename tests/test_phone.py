"""The phones' vote page (dashboard/web/phone.py) through Starlette's TestClient on a real store: the device
cookie and its flags, CSRF refusal, a plain form post (what a phone without JavaScript sends), a rescan
editing the same ballot, ballot slips, group codes, languages, escaping and the page's weight."""

from __future__ import annotations

import re
from datetime import date
from http.cookies import SimpleCookie

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from koban_geo.community.admission import group_codes, issue_slips
from koban_geo.community.meetings import (
    Rules,
    create_meeting,
    custom_candidate,
    open_meeting,
    theme_candidate,
)
from koban_geo.community.voting import results
from ui.i18n import translate
from web import middleware
from web.phone import COOKIE, csrf_token, phone_routes

SCRIPT = "<script>window.xss=1</script>"


@pytest.fixture
def store(con):
    con.execute(
        "INSERT INTO areas (code, name, geom, batch_id) VALUES ('T-1', 'Kamppi', "
        "ST_GeomFromText('POLYGON((24.92 60.16, 24.94 60.16, 24.94 60.175, 24.92 60.175, 24.92 60.16))'), 0)"
    )
    return con


def _meeting(con, *, rules=None, title="Kamppi evening", items=None, open_it=True, slips=0):
    items = items or [theme_candidate("noise"), theme_candidate("asb"), theme_candidate("litter")]
    m = create_meeting(con, title=title, date=date(2026, 12, 1), areas=["T-1"], actor="officer.a",
                       candidates=items, rules=rules)  # fmt: skip
    issued = issue_slips(con, m.id, slips, "officer.a") if slips else []
    return (open_meeting(con, m.id, "officer.a") if open_it else m), issued


def _client(con, base_url: str = "http://testserver") -> TestClient:
    app = Starlette(routes=phone_routes(connect=lambda: con), middleware=middleware())
    return TestClient(app, base_url=base_url, follow_redirects=False)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def _vote(client: TestClient, code: str, fields: dict[str, str], lang: str = "en"):
    page = client.get("/vote", params={"meeting": code, "lang": lang})
    assert page.status_code == 200
    return client.post(f"/vote?meeting={code}&lang={lang}", data={"csrf": _csrf(page.text), **fields})


def test_first_visit_sets_a_random_httponly_lax_cookie_and_no_token_in_any_url(store):
    m, _ = _meeting(store)
    client = _client(store)
    page = client.get("/vote", params={"meeting": m.code})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    header = page.headers["set-cookie"]
    cookie = SimpleCookie(header)[COOKIE]
    assert cookie["httponly"] and cookie["samesite"].lower() == "lax" and cookie["path"] == "/vote"
    assert not cookie["secure"]  # plain HTTP on the loopback
    token = cookie.value
    assert (
        len(token) >= 32
        and token != SimpleCookie(_client(store).get("/vote").headers["set-cookie"])[COOKIE].value
    )
    assert token not in page.text  # not in the page, its links or its form action
    assert "no-store" in page.headers["cache-control"]
    assert "content-security-policy" in page.headers
    again = client.get("/vote", params={"meeting": m.code})
    assert "set-cookie" not in again.headers  # the phone keeps its cookie
    sent = client.post(f"/vote?meeting={m.code}&lang=en", data={"csrf": _csrf(page.text), "d0": "1"})
    assert sent.status_code == 303 and token not in sent.headers["location"]
    secure = SimpleCookie(_client(store, "https://vote.example").get("/vote").headers["set-cookie"])[COOKIE]
    assert secure["secure"]


def test_a_plain_form_post_is_counted_and_a_rescan_edits_the_same_ballot(store):
    m, _ = _meeting(store)
    phone = _client(store)
    sent = _vote(phone, m.code, {"d0": "2", "d1": "1", "d2": ""})
    assert sent.status_code == 303
    done = phone.get(sent.headers["location"])
    assert translate("Your vote is counted.", "en") in done.text
    # A rescan of the QR code (a new GET with the same cookie) shows the ballot and edits it.
    rescan = phone.get("/vote", params={"meeting": m.code})
    assert 'name="d0" min="0" max="2" step="1" inputmode="numeric" value="2"' in rescan.text
    assert translate("You have voted. Sending again replaces your vote.", "en") in rescan.text
    phone.post(f"/vote?meeting={m.code}", data={"csrf": _csrf(rescan.text), "d2": "2"})
    outcome = results(store, m.id)
    assert outcome.ballots == 1
    assert dict(outcome.groups["resident"].ballot_points) == {
        "theme:noise": 0,
        "theme:asb": 0,
        "theme:litter": 2,
    }
    # A phone without the cookie (a private window) is another phone: what cookie mode cannot stop.
    _vote(_client(store), m.code, {"d0": "1"})
    assert results(store, m.id).ballots == 2


def test_posts_without_the_cookie_or_the_form_token_are_refused(store):
    m, _ = _meeting(store)
    phone = _client(store)
    page = phone.get("/vote", params={"meeting": m.code})
    forged = phone.post(f"/vote?meeting={m.code}", data={"csrf": "0" * 64, "d0": "1"})
    assert forged.status_code == 403
    assert (
        translate("This page had expired. Please check your choices and send your vote again.", "en")
        in forged.text
    )
    stranger = _client(store).post(f"/vote?meeting={m.code}", data={"csrf": _csrf(page.text), "d0": "1"})
    assert stranger.status_code == 403  # another site's form: no cookie comes with it
    other_device = _client(store)
    other_device.get("/vote", params={"meeting": m.code})
    stolen = other_device.post(f"/vote?meeting={m.code}", data={"csrf": _csrf(page.text), "d0": "1"})
    assert stolen.status_code == 403  # the token belongs to one phone's cookie
    assert results(store, m.id).ballots == 0
    assert csrf_token("a" * 32) != csrf_token("b" * 32)


def test_bad_ballots_are_refused_in_the_phone_language_and_keep_what_was_typed(store):
    m, _ = _meeting(store)
    phone = _client(store)
    over = _vote(phone, m.code, {"d0": "2", "d1": "2"}, lang="nl")
    assert over.status_code == 400
    assert (
        translate("You have {budget} dots; this ballot uses {used}.", "nl").format(budget=3, used=4)
        in over.text
    )
    assert 'id="d1" name="d1" min="0" max="2" step="1" inputmode="numeric" value="2"' in over.text
    for fields in ({"d0": "-1"}, {"d0": "x"}, {"d0": "3"}, {}):
        assert _vote(phone, m.code, fields).status_code == 400
    assert results(store, m.id).ballots == 0


def test_ranking_by_select_boxes(store):
    m, _ = _meeting(store, rules=Rules(method="ranking"))
    phone = _client(store)
    assert _vote(phone, m.code, {"r0": "1", "r1": "1"}).status_code == 400  # one rank twice
    assert _vote(phone, m.code, {"r0": "", "r1": "", "r2": ""}).status_code == 400
    assert _vote(phone, m.code, {"r0": "2", "r2": "1"}).status_code == 303
    points = results(store, m.id).groups["resident"].ballot_points
    assert dict(points) == {"theme:noise": 2, "theme:asb": 0, "theme:litter": 3}  # Borda, 3 items
    page = phone.get("/vote", params={"meeting": m.code}).text
    assert '<option value="1" selected>1</option>' in page and '<option value="2" selected>2</option>' in page


def test_slip_mode_asks_for_a_slip_once_and_a_slip_serves_one_phone(store):
    m, slips = _meeting(store, slips=2)
    phone = _client(store)
    page = phone.get("/vote", params={"meeting": m.code})
    assert 'name="slip"' in page.text
    missing = _vote(phone, m.code, {"d0": "1"})
    assert missing.status_code == 400
    assert (
        translate("This meeting votes with ballot slips: enter the code on your slip.", "en") in missing.text
    )
    assert _vote(phone, m.code, {"d0": "1", "slip": slips[0].lower()}).status_code == 303
    edit = phone.get("/vote", params={"meeting": m.code})
    assert 'name="slip"' not in edit.text  # the phone holds its slip now
    assert _vote(phone, m.code, {"d1": "1"}).status_code == 303
    private_window = _client(store)
    reused = _vote(private_window, m.code, {"d0": "1", "slip": slips[0]})
    assert reused.status_code == 400
    assert translate("This slip code is not valid or has already been used.", "en") in reused.text
    assert results(store, m.id).ballots == 1


def test_a_phone_votes_as_a_group_only_with_its_code_and_there_is_no_role_picker(store):
    m, _ = _meeting(store)
    codes = group_codes(store, m.id, "officer.a")
    page = _client(store).get("/vote", params={"meeting": m.code}).text
    assert 'name="role"' not in page and 'type="radio"' not in page and ">Officer<" not in page
    # A forged role field is ignored: the phone counts as a resident.
    assert _vote(_client(store), m.code, {"d0": "1", "role": "officer"}).status_code == 303
    wrong = _vote(_client(store), m.code, {"d0": "1", "group": "AAAAAAAA"})
    assert wrong.status_code == 400
    assert translate("This group code is not valid for this meeting.", "en") in wrong.text
    officer = _client(store)
    assert _vote(officer, m.code, {"d0": "1", "group": codes["officer"].lower()}).status_code == 303
    shown = officer.get("/vote", params={"meeting": m.code}).text
    assert translate("You vote as: {group}", "en").format(group="Officers") in shown
    assert _vote(officer, m.code, {"d1": "2"}).status_code == 303  # an edit keeps the group
    partner = _client(store)
    assert _vote(partner, m.code, {"d2": "1", "group": codes["partner"]}).status_code == 303
    outcome = results(store, m.id)
    assert {r: g.participants for r, g in outcome.groups.items()} == {
        "resident": 1,
        "officer": 1,
        "partner": 1,
    }
    assert outcome.groups["officer"].ballot_points["theme:asb"] == 2


def test_language_from_the_address_else_the_browser(store):
    m, _ = _meeting(store)
    client = _client(store)
    fi = client.get("/vote", params={"meeting": m.code, "lang": "fi"}).text
    assert '<html lang="fi">' in fi and translate("Send my vote", "fi") in fi
    assert translate("Send my vote", "fi") != "Send my vote"
    assert "Meluhaitat" in fi or theme_candidate("noise").label("fi") in fi
    pl = client.get(
        "/vote", params={"meeting": m.code}, headers={"accept-language": "de-DE,pl;q=0.9,en;q=0.8"}
    )
    assert '<html lang="pl">' in pl.text
    en = client.get("/vote", params={"meeting": m.code}, headers={"accept-language": "de, xx;q=0.5"})
    assert '<html lang="en">' in en.text
    assert '<html lang="nl">' in client.get("/vote", params={"lang": "nl"}).text  # the join form


def test_data_is_escaped_and_unknown_or_closed_meetings_say_so(store):
    items = [custom_candidate(f"Asema {SCRIPT}"), custom_candidate('Park "<img src=x onerror=alert(1)>"')]
    m, _ = _meeting(store, title=f"Kamppi {SCRIPT}", items=items)
    page = _client(store).get("/vote", params={"meeting": m.code}).text
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;window.xss=1&lt;/script&gt;" in page and "&lt;img src=x" in page
    unknown = _client(store).get("/vote", params={"meeting": "<b>x</b>"})
    assert unknown.status_code == 404 and "<b>" not in unknown.text
    draft, _ = _meeting(store, open_it=False)
    text = _client(store).get("/vote", params={"meeting": draft.code}).text
    assert translate("Voting has not started yet; try again when the facilitator opens it.", "en") in text
    assert 'method="post"' not in text
    refused = _vote(_client(store), m.code, {"d0": "1"}, lang="en")  # fine while open...
    assert refused.status_code == 303


def test_the_page_weighs_under_50_kb_with_twenty_long_items(store):
    items = [custom_candidate(f"{i:02d} " + "Pitkä kohde & <merkit> " * 5) for i in range(20)]
    m, _ = _meeting(store, items=items)
    page = _client(store).get("/vote", params={"meeting": m.code, "lang": "pt"})
    assert page.status_code == 200
    assert len(page.content) < 50_000, len(page.content)
    assert page.text.count('type="number"') == 20
    assert "<script" not in page.text  # works without JavaScript: there is none
