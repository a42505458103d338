"""Logging in and out through the server, because a Streamlit page cannot set an HTTP cookie.

`GET /account/login` is a small server-rendered form (translated: ?lang=, else the language of `next`, else
Accept-Language), with a CSRF token bound to an HttpOnly form cookie; `POST /account/login` applies the
login throttles (web.process), checks the password with koban_geo.community.accounts (lock-out and audit as
always), sets the session cookie and sends the browser on to `next` (a path on this site, never another
host). `POST /account/logout` revokes the session in the store, so every tab holding the cookie is logged out
at its next run. `StaffPages` sends a visitor without a live session who opens a staff page's address
straight to the form, and back to that page afterwards. Streamlit's own `/auth/...` routes (st.login, single
sign-on) stay untouched.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.i18n import LANG_NAMES, LANGS
from ui.i18n import translate as _
from web import process
from web.session import (
    COOKIE,
    FORM_COOKIE,
    clear_session_cookie,
    client_address,
    form_token,
    is_https,
    new_form_cookie,
    safe_next,
    set_session_cookie,
    sign,
    token_from_cookie,
    valid_form_token,
)

__all__ = ["LOGIN", "LOGOUT", "STAFF_PATHS", "StaffPages", "live_account", "login_url", "routes"]

LOGIN = "/account/login"
LOGOUT = "/account/logout"
# Addresses of pages that need a login (app.py's url_paths). "/" is the map for staff and, for everyone else,
# the login page (Streamlit serves the default page at "/" only, so "/login" without a session goes there).
STAFF_PATHS = frozenset({"/map", "/meetings", "/problems", "/exports", "/admin"})
ACCOUNT_PAGE = "/login"
_SSO_COOKIE = "_streamlit_user"  # st.login's own cookie: its pages check that user themselves
_FORM_MAX_AGE = 3600


def login_url(next_path: str = "/", lang: str | None = None, *, ended: bool = False) -> str:
    """The address of the login form that returns to `next_path` afterwards."""
    query = {"next": safe_next(next_path)}
    if lang in LANGS:
        query["lang"] = str(lang)
    if ended:
        query["ended"] = "1"
    return f"{LOGIN}?{urlencode(query)}"


def live_account(cookie_value: str | None) -> Any | None:
    """The account behind a session cookie if the store says it is live (blocking: call in a thread)."""
    from koban_geo.community.accounts import session_user

    token = token_from_cookie(cookie_value, process.session_key())
    return session_user(process.connection(), token) if token else None


def _lang(request: Request, next_path: str) -> str:
    asked = request.query_params.get("lang") or ""
    if asked in LANGS:
        return asked
    inner = parse_qs(urlsplit(next_path).query).get("lang", [""])[0]
    if inner in LANGS:
        return inner
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return "en"


def _page(lang: str, next_path: str, form_cookie: str, message: str = "", kind: str = "error") -> str:
    """The login form as one HTML page (every value escaped; styles inline, no script)."""

    def esc(text: str) -> str:
        return html.escape(text)

    def attr(value: str) -> str:
        return html.escape(value, quote=True)

    # the words (outside the f-string, where the message extractor finds them)
    log_in = esc(_("Log in", lang))
    user = esc(_("User name", lang))
    password = esc(_("Password", lang))
    residents = esc(
        _("Residents do not need an account: open the meeting link or scan the code on the screen.", lang)
    )
    screen = esc(_("Meeting screen", lang))
    outcomes = esc(_("You said, we did", lang))
    other = esc(_("Other ways to log in", lang))
    token = form_token(process.session_key(), "login", form_cookie)
    note = f'<p class="{kind}" role="alert">{html.escape(message)}</p>' if message else ""
    langs = " · ".join(
        f'<a href="{attr(login_url(next_path, code))}" lang="{code}">{html.escape(LANG_NAMES[code])}</a>'
        for code in LANGS
        if code != lang
    )
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{log_in} · KOBAN Geo</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f6f7f9; color: #111; margin: 0; }}
main {{ max-width: 24rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 0.5rem;
        box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
label {{ display: block; margin-top: 1rem; font-weight: 600; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box; padding: .6rem; font-size: 1rem;
        margin-top: .3rem; border: 1px solid #888; border-radius: .3rem; }}
button {{ margin-top: 1.5rem; width: 100%; padding: .7rem; font-size: 1rem; background: #1c4e9c; color: #fff;
        border: 0; border-radius: .3rem; cursor: pointer; }}
.error {{ background: #fdecea; color: #8a1c12; padding: .6rem; border-radius: .3rem; }}
.warning {{ background: #fff4e5; color: #6b3d00; padding: .6rem; border-radius: .3rem; }}
small, nav {{ display: block; margin-top: 1.2rem; color: #444; }}
</style></head>
<body><main>
<h1>{log_in}</h1>
{note}
<form method="post" action="{LOGIN}">
<input type="hidden" name="csrf" value="{attr(token)}">
<input type="hidden" name="next" value="{attr(next_path)}">
<input type="hidden" name="lang" value="{lang}">
<label for="username">{user}</label>
<input type="text" id="username" name="username" autocomplete="username" required maxlength="64" autofocus>
<label for="password">{password}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">{log_in}</button>
</form>
<small>{residents}
<a href="/screen?lang={lang}">{screen}</a> · <a href="/outcomes?lang={lang}">{outcomes}</a>
· <a href="/?lang={lang}">{other}</a></small>
<nav>{langs}</nav>
</main></body></html>"""


def _form_response(request: Request, lang: str, next_path: str, message: str = "", kind: str = "error",
                   status: int = 200) -> Response:  # fmt: skip
    """The form, with this browser's form cookie (a new one when it has none)."""
    form_cookie = request.cookies.get(FORM_COOKIE) or new_form_cookie()
    response = HTMLResponse(_page(lang, next_path, form_cookie, message, kind), status_code=status)
    response.headers["cache-control"] = "no-store"
    secure = is_https(request, process.settings().trust_proxy)
    response.set_cookie(FORM_COOKIE, form_cookie, max_age=_FORM_MAX_AGE, path="/account", secure=secure,
                        httponly=True, samesite="strict")  # fmt: skip
    return response


async def login_form(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    lang = _lang(request, next_path)
    if request.query_params.get("ended"):
        message = _("Your session has ended. Please log in again.", lang)
        return _form_response(request, lang, next_path, message, "warning")
    return _form_response(request, lang, next_path)


def _audit_throttled(client: str) -> None:
    from koban_geo.store.sql import audit, writing

    with writing(process.connection()) as cur:
        audit(cur, "anonymous", "login_throttled", f"client={client}")


def _check(username: str, password: str) -> str:
    """Log in through the accounts module; returns the new session token (LoginError on refusal)."""
    from koban_geo.community.accounts import authenticate, start_session

    con, settings = process.connection(), process.settings()
    account = authenticate(con, settings, username, password)
    return start_session(con, settings, account.username)


async def login_submit(request: Request) -> Response:
    from koban_geo.community.accounts import LoginError

    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    next_path = safe_next(str(form.get("next") or ""))
    lang = str(form.get("lang") or "")
    lang = lang if lang in LANGS else _lang(request, next_path)
    settings = process.settings()
    form_cookie = request.cookies.get(FORM_COOKIE)
    if not valid_form_token(process.session_key(), "login", form_cookie, str(form.get("csrf") or "")):
        message = _("This form has expired. Please try again.", lang)
        return _form_response(request, lang, next_path, message, status=400)
    assert form_cookie is not None
    client = client_address(request, settings.trust_proxy)
    throttles = process.throttles()
    if throttles.blocked(form_cookie, client):
        await run_in_threadpool(_audit_throttled, client)
        message = _("Too many attempts. Please wait a minute and try again.", lang)
        return _form_response(request, lang, next_path, message, status=429)
    username = str(form.get("username") or "").strip().lower()
    password = str(form.get("password") or "")
    try:
        token = await run_in_threadpool(_check, username, password)
    except LoginError:
        throttles.failed(form_cookie, client)
        message = _("Login failed: wrong user name or password, or the account is locked for a while.", lang)
        return _form_response(request, lang, next_path, message, status=401)
    response = RedirectResponse(next_path, status_code=303)
    secure = is_https(request, settings.trust_proxy)
    set_session_cookie(response, sign(token, process.session_key()), secure=secure,
                       max_age=settings.session_minutes * 60)  # fmt: skip
    response.delete_cookie(FORM_COOKIE, path="/account", secure=secure, httponly=True, samesite="strict")
    return response


def logout_token(cookie_value: str) -> str:
    """The CSRF token a page puts into its logout form (bound to the session cookie it was given)."""
    return form_token(process.session_key(), "logout", cookie_value)


async def logout(request: Request) -> Response:
    from koban_geo.community.accounts import end_session

    form = await request.form(max_files=0, max_fields=5, max_part_size=1024)
    value = request.cookies.get(COOKIE)
    if value and not valid_form_token(process.session_key(), "logout", value, str(form.get("csrf") or "")):
        return Response("This form has expired. Reload the page and log out again.", status_code=403)
    token = token_from_cookie(value, process.session_key())
    if token:
        await run_in_threadpool(end_session, process.connection(), token)
    lang = str(form.get("lang") or "")
    response = RedirectResponse(login_url("/", lang if lang in LANGS else None), status_code=303)
    clear_session_cookie(response, secure=is_https(request, process.settings().trust_proxy))
    return response


def routes() -> list[BaseRoute]:
    return [
        Route(LOGIN, login_form, methods=["GET"]),
        Route(LOGIN, login_submit, methods=["POST"]),
        Route(LOGOUT, logout, methods=["POST"]),
    ]


class StaffPages:
    """Sends a page load of a staff address without a live session to the login form (pure ASGI).

    Only full page loads (GET/HEAD of exactly those paths) are looked at; Streamlit's assets, websocket and
    the public pages pass untouched. The pages check the visitor's tier themselves (ui.auth.require): this
    is the way in, not the wall. A load that arrives from another site carries no SameSite=Strict cookie,
    so it is bounced once through this site (a same-site reload that does carry it) before any redirect.
    """

    def __init__(self, app: ASGIApp, check: Callable[[str | None], Any] = live_account) -> None:
        self.app, self.check = app, check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        if path not in STAFF_PATHS and path != ACCOUNT_PAGE:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.cookies.get(_SSO_COOKIE):
            await self.app(scope, receive, send)
            return
        value = request.cookies.get(COOKIE)
        try:
            account = await run_in_threadpool(self.check, value) if value else None
        except Exception:  # noqa: BLE001 - a missing store is said by the page itself
            await self.app(scope, receive, send)
            return
        if account is not None:
            await self.app(scope, receive, send)
            return
        target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
        if path == ACCOUNT_PAGE:  # the login page of a visitor without a session lives at "/"
            response: Response = RedirectResponse("/" + target[len(path) :], status_code=303)
        elif value is None and request.headers.get("sec-fetch-site") == "cross-site":
            response = _bounce(target)
        else:
            lang = request.query_params.get("lang")
            response = RedirectResponse(login_url(target, lang, ended=value is not None), status_code=303)
            if value is not None:
                clear_session_cookie(response, secure=is_https(request, process.settings().trust_proxy))
        await response(scope, receive, send)


def _bounce(target: str) -> Response:
    """A page that reloads `target` from this site, so that the browser sends its SameSite=Strict cookie."""
    url = html.escape(safe_next(target), quote=True)
    body = f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={url}">'
    return HTMLResponse(body, headers={"cache-control": "no-store"})
