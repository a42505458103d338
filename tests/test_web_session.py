"""The server's login form and session cookie (dashboard/web), through Starlette's TestClient on a real store.

The routes and middleware are the ones `st.App` mounts (web.routes(), web.middleware()); a stub stands in for
Streamlit's pages behind them. Passwords are checked by koban_geo.community.accounts (argon2, lock-out, audit).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from koban_geo.community.accounts import add_user, session_user
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from web import login, middleware, process, routes
from web.session import COOKIE, safe_next, sign, token_from_cookie

USER, PASSWORD = "olli", "a long officer passphrase"


async def _page(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"page {request.url.path}")


def _app() -> Starlette:
    return Starlette(routes=[*routes(), Route("/{path:path}", _page)], middleware=middleware())


@pytest.fixture
def store(settings: Settings, monkeypatch) -> Iterator[Path]:
    con = connect(settings.db)
    add_user(con, USER, PASSWORD, "officer", actor="test")
    con.close()
    monkeypatch.setenv("KOBAN_DB", str(settings.db))
    monkeypatch.delenv("KOBAN_TRUST_PROXY", raising=False)
    monkeypatch.delenv("KOBAN_SESSION_SECRET", raising=False)
    process.reset_for_tests()
    yield settings.db
    process.reset_for_tests()


def _client(base: str = "https://testserver") -> TestClient:
    return TestClient(_app(), base_url=base, follow_redirects=False)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _login(client: TestClient, password: str = PASSWORD, next_path: str = "/map", **headers: str):
    form = client.get(login.LOGIN, params={"next": next_path})
    assert form.status_code == 200
    data = {"csrf": _csrf(form.text), "next": next_path, "username": USER, "password": password}
    return client.post(login.LOGIN, data=data, headers=headers)


def _set_cookie(response, name: str) -> str:
    lines = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(lines) == 1, response.headers.get_list("set-cookie")
    return lines[0]


def test_login_sets_an_httponly_strict_secure_cookie_over_https_and_goes_to_next(store):
    client = _client("https://testserver")
    response = _login(client)
    assert response.status_code == 303 and response.headers["location"] == "/map"
    header = _set_cookie(response, COOKIE)
    attributes = {part.strip().lower() for part in header.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attributes, header
    assert f"max-age={process.settings().session_minutes * 60}" in attributes
    # the cookie now opens the staff page, and the store knows the session
    assert client.get("/map").text == "page /map"
    token = token_from_cookie(client.cookies[COOKIE], process.session_key())
    assert session_user(process.connection(), token).username == USER


def test_the_cookie_is_secure_only_over_https_or_behind_a_trusted_proxy(store, monkeypatch):
    plain_http = _set_cookie(_login(_client("http://testserver")), COOKIE).lower()
    assert "secure" not in plain_http and "httponly" in plain_http and "samesite=strict" in plain_http
    forwarded = {"x-forwarded-proto": "https"}
    spoofed = _set_cookie(_login(_client("http://testserver"), **forwarded), COOKIE).lower()
    assert "secure" not in spoofed  # a client's own header is not trusted by default
    monkeypatch.setenv("KOBAN_TRUST_PROXY", "true")
    process.reset_for_tests()
    proxied = _set_cookie(_login(_client("http://testserver"), **forwarded), COOKIE).lower()
    assert "; secure" in proxied


def test_the_cookie_value_is_not_guessable_and_the_store_keeps_only_its_hash(store):
    first, second = (_login(_client()).cookies[COOKIE] for _ in range(2))
    assert first != second
    key = process.session_key()
    for value in (first, second):
        token = token_from_cookie(value, key)
        assert token is not None and len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 32
    con = process.connection()
    stored = " ".join(str(r) for r in con.execute("SELECT * FROM sessions").fetchall())
    assert token_from_cookie(first, key) not in stored and token_from_cookie(second, key) not in stored


def test_a_forged_or_altered_cookie_is_refused(store):
    client = _client()
    value = _login(client).cookies[COOKIE]
    token = token_from_cookie(value, process.session_key())
    assert token is not None
    for forged in (
        token,  # no signature
        value[:-1] + ("A" if value[-1] != "A" else "B"),  # one character changed
        sign(token, b"another server's key, 32 bytes long"),
        sign("x" * 43, process.session_key()),  # signed but not a session
    ):
        other = _client()
        other.cookies.set(COOKIE, forged)
        response = other.get("/map")
        assert response.status_code == 303 and response.headers["location"].startswith(login.LOGIN), forged


def test_the_form_refuses_a_post_without_this_browsers_token(store):
    client = _client()
    client.get(login.LOGIN)
    data = {"next": "/map", "username": USER, "password": PASSWORD}
    assert client.post(login.LOGIN, data=data).status_code == 400
    attacker = _client()
    token_for_attacker = _csrf(attacker.get(login.LOGIN).text)
    response = client.post(login.LOGIN, data={**data, "csrf": token_for_attacker})
    assert response.status_code == 400 and COOKIE not in response.cookies
    count = process.connection().execute("SELECT count(*) FROM sessions").fetchone()
    assert count == (0,)


@pytest.mark.parametrize(
    "asked",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "http:/evil", "javascript:alert(1)",
     "/account/login", "/auth/login", "map", "/map\r\nSet-Cookie: x=1"],
)  # fmt: skip
def test_next_never_leaves_the_site(store, asked):
    assert safe_next(asked) == "/"
    response = _login(_client(), next_path=asked)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_next_is_escaped_in_the_form(store):
    page = _client().get(login.LOGIN, params={"next": '/map?x="><script>alert(1)</script>'}).text
    assert "<script>alert" not in page and "&quot;&gt;&lt;script&gt;" in page


def test_a_staff_address_without_a_session_goes_to_the_login_and_public_pages_do_not(store):
    client = _client()
    response = client.get("/meetings?lang=nl")
    assert response.status_code == 303
    assert response.headers["location"] == login.login_url("/meetings?lang=nl", "nl")
    for public in ("/", "/screen", "/outcomes", "/_stcore/health", "/static/x.js"):
        assert client.get(public).status_code == 200, public
    phone = client.get("/vote?meeting=ABC")  # the phones' own page answers (no such meeting), never the login
    assert phone.status_code == 404 and "location" not in phone.headers
    # the login page's own address: Streamlit serves it at "/" to a visitor without a session
    assert client.get("/login?lang=fi").headers["location"] == "/?lang=fi"
    # Arriving from another site (an e-mail's link) brings no SameSite=Strict cookie: one same-site bounce.
    bounced = client.get("/map", headers={"sec-fetch-site": "cross-site"})
    assert bounced.status_code == 200 and 'http-equiv="refresh" content="0;url=/map"' in bounced.text


def test_logout_revokes_the_session_everywhere_and_needs_its_token(store):
    client = _client()
    _login(client)
    value = client.cookies[COOKIE]
    token = token_from_cookie(value, process.session_key())
    second_tab = _client()
    second_tab.cookies.set(COOKIE, value)
    assert second_tab.get("/problems").status_code == 200
    assert client.post(login.LOGOUT, data={"csrf": "wrong"}).status_code == 403
    assert session_user(process.connection(), token) is not None
    response = client.post(login.LOGOUT, data={"csrf": login.logout_token(value), "lang": "fi"})
    assert response.status_code == 303 and response.headers["location"].startswith(login.LOGIN)
    assert 'koban_session=""' in _set_cookie(response, COOKIE)  # cleared in this browser
    assert session_user(process.connection(), token) is None  # revoked in the store
    ended = second_tab.get("/problems")  # the other tab's next page load
    assert ended.status_code == 303 and "ended=1" in ended.headers["location"]
    actions = [r[0] for r in process.connection().execute("SELECT action FROM audit_log").fetchall()]
    assert {"login_ok", "session_started", "session_ended"} <= set(actions)


def test_a_wrong_password_says_the_same_in_the_visitors_language(store):
    client = _client()
    form = client.get(login.LOGIN, headers={"accept-language": "nl-NL,nl;q=0.9,en;q=0.5"})
    assert '<html lang="nl">' in form.text
    data = {
        "csrf": _csrf(form.text),
        "next": "/",
        "username": USER,
        "password": "not the password",
        "lang": "nl",
    }
    response = client.post(login.LOGIN, data=data)
    assert response.status_code == 401 and COOKIE not in response.cookies
    unknown = client.post(login.LOGIN, data={**data, "username": "nobody"})
    assert unknown.status_code == 401
    message = re.search(r'role="alert">([^<]+)<', response.text).group(1)
    assert message == re.search(r'role="alert">([^<]+)<', unknown.text).group(1)


def test_throttles_survive_streamlits_clear_cache(store):
    """20 failures from one client address, each from a fresh browser (no form cookie kept): the client
    throttle refuses even the right password, and a clear-cache message changes nothing."""
    for _ in range(20):
        assert _login(_client(), password="wrong password here").status_code == 401
    st.cache_data.clear()  # what Streamlit does for a ClearCache message from any browser
    st.cache_resource.clear()
    response = _login(_client())
    assert response.status_code == 429 and COOKIE not in response.cookies
    assert "Too many attempts" in response.text
    con = process.connection()
    assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'login_throttled'").fetchone()[0] >= 1


def test_one_browser_is_throttled_after_five_failures(store):
    client = _client()
    for _ in range(5):
        assert _login(client, password="wrong password here").status_code == 401
    assert _login(client).status_code == 429
    # another browser of the same address is not throttled yet: it meets the account's lock-out (5 in a row)
    assert _login(_client()).status_code == 401


def test_only_the_map_frame_may_evaluate_its_layer_script() -> None:
    """The map's frame swaps its layer groups with eval (streamlit-folium's feature_group_to_add): its own
    document gets 'unsafe-eval', nothing else does (the page, the phone page, the login form, a path that
    only looks like the frame's)."""
    from web.headers import CSP, headers_for

    assert "'unsafe-eval'" not in CSP
    frame = headers_for("/component/streamlit_folium.st_folium/index.html")[
        b"content-security-policy"
    ].decode()
    assert "script-src 'self' 'unsafe-inline' 'unsafe-eval'" in frame
    assert frame.replace(" 'unsafe-eval'", "") == CSP  # nothing else relaxed
    for path in ("/", "/vote", "/account/login", "/component/other.component/index.html",
                 "/component/streamlit_folium.st_folium/../../vote", "/app/static/koban/map.js"):  # fmt: skip
        assert headers_for(path)[b"content-security-policy"].decode() == CSP, path
