"""The residents' vote page, `/vote?meeting=CODE`: plain HTML served by the app's own route, no session.

A phone costs one request per page and per ballot, not a Streamlit session (issue 16): the page is a form
that works without JavaScript. The QR code and the typed address stay `/vote?meeting=CODE[&lang=xx]`.

- **One ballot per phone**: the first visit sets a random device cookie (`koban_device`: HttpOnly,
  SameSite=Lax so the QR code's link carries it, Secure over HTTPS, path /vote); a rescan, a reload or a
  new tab sends it back and edits the same ballot. The token never appears in a URL; the store keeps only
  SHA-256('<meeting id>:<token>') (koban_geo.community.voting.device_hash).
- **CSRF**: the form carries a token derived from the device cookie (HMAC); a POST without the cookie or
  with another token is refused (403) and nothing is stored.
- **Groups**: a phone votes as a resident unless it enters the meeting's officers' or partners' code
  (koban_geo.community.admission); a phone that entered one keeps its group when it edits its ballot.
- **Ballot slips**: in slip mode a phone's first ballot needs an unused slip (checked by cast_ballot).
- **Language**: ?lang=, else the browser's Accept-Language among the seven, else English.

A ballot that is stored answers 303 to the page (?sent=1), so a reload never sends it twice.

**"Vote now" (150 phones at once, one process; bench/phones.py).** The route is a plain ASGI app that
`PhoneFirst` (the outermost of the app's middleware after the security headers) calls straight away, past
Streamlit's session, gzip and routing layers. A phone's first visit touches no store: the meeting (its items,
slip mode and group codes) is read at most once per MEETING_TTL, and its page is rendered once per language
and only the CSRF token is filled in. A ballot is checked on the event loop and handed to the one ballot
writer (koban_geo.community.ballot_writer: group commit), whose Future the request awaits without a thread;
the 303 is sent only after the transaction holding the ballot has committed. What needs the store (a
returning phone's own ballot, an error page) runs in the thread pool.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlencode

import duckdb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from koban_geo.community.admission import normalise_slip, role_for_code
from koban_geo.community.joining import JOIN_PATH
from koban_geo.community.meetings import Meeting, meeting_by_code, normalise_code, snapshot
from koban_geo.community.voting import (
    MAX_TOKEN,
    MIN_TOKEN,
    VoteError,
    cast_ballot,
    phone_state,
    submit_ballot,
)
from koban_geo.store.i18n import format_date
from koban_geo.store.sql import query
from ui.i18n import LANGS
from web import process
from web.phone_page import Item, PhoneView, render, vote_error

__all__ = ["COOKIE", "PhoneApp", "PhoneFirst", "csrf_token", "phone_routes", "pick_lang"]

PATH = JOIN_PATH  # one owner of the join link: koban_geo.community.joining
COOKIE = "koban_device"
COOKIE_DAYS = 30
MAX_BODY = 16_384  # a ballot is a few hundred bytes
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_CSRF_LABEL = b"koban phone form"

MEETING_TTL = 2.0  # seconds a meeting read for the page is reused (items are fixed once open; a ballot
# is checked against the stored state in its own transaction, so a stale state never lets one through)

Connect = Callable[[], duckdb.DuckDBPyConnection]


_MARK = "csrfmark7f3c9e1d"  # stands for the CSRF token in a cached page (hex-free letters cannot collide)


@dataclass
class _Found:
    """A join code as the phone page sees it: the meeting (None: no such meeting), whether it votes with
    slips, its group codes (code -> role) and its first-visit page per language (split at the CSRF token)."""

    meeting: Meeting | None
    slips_required: bool = False
    codes: dict[str, str] = field(default_factory=dict)
    pages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    expires: float = 0.0

    def first_visit(self, lang: str, csrf: str) -> str:
        """The page of a phone that has not voted (no store read: only the token differs between phones)."""
        parts = self.pages.get(lang)
        if parts is None:
            assert self.meeting is not None
            view = _fresh_view(self.meeting, lang, self.slips_required)
            parts = self.pages[lang] = tuple(render(view).split(_MARK))
        return csrf.join(parts)


class _Meetings:
    """Meetings by join code, read at most once per MEETING_TTL per process: 150 phones opening the page at
    once need one read of the meeting and its items, not 150 (concurrent misses wait for one read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reading: dict[tuple[int, str], threading.Lock] = {}
        self._found: dict[tuple[int, str], _Found] = {}

    def peek(self, con: duckdb.DuckDBPyConnection, code: str, *, ballot: bool = False) -> _Found | None:
        """The cached, still fresh entry for `code` (no store read; safe on the event loop), else None.
        `ballot`: an open meeting's entry serves a ballot even when stale: its items and rules are fixed once
        open, and the writer checks in its own transaction that the meeting is still open (and the slip)."""
        clean = normalise_code(code)
        hit = self._found.get((id(con), clean)) if clean else None
        if hit is None:
            return None
        if hit.expires > time.monotonic():
            return hit
        return hit if ballot and hit.meeting is not None and hit.meeting.status == "open" else None

    def get(self, con: duckdb.DuckDBPyConnection, code: str) -> Meeting | None:
        found = self.entry(con, code)
        return found.meeting if found is not None else None

    def entry(self, con: duckdb.DuckDBPyConnection, code: str) -> _Found | None:
        """The entry for `code`, read from the store when stale (blocking); None for a malformed code."""
        clean = normalise_code(code)
        if clean is None:
            return None
        key = (id(con), clean)
        with self._lock:
            reading = self._reading.setdefault(key, threading.Lock())
        with reading:
            hit = self.peek(con, clean)
            if hit is not None:
                return hit
            found = _Found(meeting_by_code(con, clean, any_site=True))  # a phone knows only the code
            if found.meeting is not None:
                with snapshot(con) as cur:
                    mid = {"meeting_id": found.meeting.id}
                    found.slips_required = bool(query(cur, "vote_slips_required", mid).fetchone()[0])
                    found.codes = {
                        code: role for role, code in query(cur, "phone_group_codes", mid).fetchall()
                    }
            found.expires = time.monotonic() + MEETING_TTL
            with self._lock:
                if len(self._found) > 1000:  # codes typed at random do not pile up
                    self._found.clear()
                    self._reading.clear()
                self._found[key] = found
            return found


_MEETINGS = _Meetings()


def pick_lang(request: Request) -> str:
    """?lang= if it names one of ours, else the best of Accept-Language, else English."""
    asked = request.query_params.get("lang", "")
    if asked in LANGS:
        return asked
    offers: list[tuple[float, int, str]] = []
    for i, part in enumerate(request.headers.get("accept-language", "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGS and quality > 0:
            offers.append((-quality, i, primary))
    return min(offers)[2] if offers else "en"


def _device(request: Request) -> str | None:
    token = request.cookies.get(COOKIE, "")
    return token if MIN_TOKEN <= len(token) <= MAX_TOKEN and _TOKEN.match(token) else None


def csrf_token(device: str) -> str:
    """The form's token for this phone: only a page that could read the HttpOnly cookie can know it."""
    return hmac.new(device.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def _html(view: PhoneView, status: int = 200) -> HTMLResponse:
    return HTMLResponse(render(view), status_code=status, headers={"cache-control": "no-store"})


def _with_cookie(response: Response, request: Request, device: str, fresh: bool) -> Response:
    if fresh:
        response.set_cookie(
            COOKIE, device, max_age=COOKIE_DAYS * 86_400, path=PATH, httponly=True, samesite="lax",
            secure=request.url.scheme == "https",
        )  # fmt: skip
    return response


def _fresh_view(meeting: Meeting, lang: str, slips_required: bool) -> PhoneView:
    """The page of a phone that has not voted, its CSRF token left as _MARK (shared by every such phone)."""
    return _page(meeting, lang, None, slips_required, csrf=_MARK)


def _view(
    con: duckdb.DuckDBPyConnection, meeting: Meeting, device: str, lang: str, **extra: Any
) -> PhoneView:
    """The page of an existing meeting for this phone; `extra` overrides (an error, the values typed)."""
    if meeting.status != "open":
        return _page(meeting, lang, None, False, csrf="")
    current, slips_required = phone_state(con, meeting.id, meeting.rules.method, device)
    return _page(meeting, lang, current, slips_required, csrf=csrf_token(device), **extra)


def _page(
    meeting: Meeting, lang: str, current: Any, slips_required: bool, csrf: str, **extra: Any
) -> PhoneView:
    state = meeting.status
    if state != "open":
        return PhoneView(lang=lang, code=meeting.code, title=meeting.title, date=format_date(meeting.date, lang),
                         state=state)  # fmt: skip
    values: dict[str, int] = {}
    if current is not None:
        if meeting.rules.method == "dots":
            values = dict(current.allocation or {})
        else:
            values = {key: rank for rank, key in enumerate(current.ranking or (), start=1)}
    typed = extra.pop("typed", None)
    if typed is not None:
        values = typed
    items = tuple(Item(c.label(lang), values.get(c.key)) for c in meeting.candidates)
    fields: dict[str, Any] = {
        "lang": lang, "code": meeting.code, "title": meeting.title, "date": format_date(meeting.date, lang),
        "state": "open", "method": meeting.rules.method, "budget": meeting.rules.budget,
        "cap": meeting.rules.max_per_item, "items": items, "csrf": csrf,
        "role": current.role if current else "resident", "voted": current is not None,
        "revision": current.revision if current else 0, "needs_slip": slips_required and current is None,
    }  # fmt: skip
    fields.update(extra)
    return PhoneView(**fields)


def _read_ballot(meeting: Meeting, form: dict[str, list[str]]) -> tuple[dict[str, int] | None, list[str] | None,
                                                                        dict[str, int]]:  # fmt: skip
    """(allocation, ranking, values as typed) from the form; VoteError for a value that is no number."""
    typed: dict[str, int] = {}
    if meeting.rules.method == "dots":
        allocation: dict[str, int] = {}
        for i, cand in enumerate(meeting.candidates):
            raw = (form.get(f"d{i}") or [""])[0].strip() or "0"
            if not raw.isdigit() or len(raw) > 6:
                raise VoteError("not_whole", "Dots are whole numbers, 0 or more.")
            typed[cand.key] = allocation[cand.key] = int(raw)
        return {k: v for k, v in allocation.items() if v}, None, typed
    ranks: list[tuple[int, int, str]] = []
    for i, cand in enumerate(meeting.candidates):
        raw = (form.get(f"r{i}") or [""])[0].strip()
        if not raw:
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= len(meeting.candidates):
            raise VoteError("form", "This ballot does not fit this meeting's voting rules.")
        typed[cand.key] = int(raw)
        ranks.append((int(raw), i, cand.key))
    if len({r for r, _, _ in ranks}) != len(ranks):
        raise VoteError("duplicate", "Each item can be ranked only once.", typed=typed)
    if not ranks:
        raise VoteError("empty_ranking", "Rank at least one item.")
    return None, [key for _, _, key in sorted(ranks)], typed


def _get(con: duckdb.DuckDBPyConnection, request: Request, device: str, lang: str) -> Response:
    code = request.query_params.get("meeting", "").strip()
    if not code:
        return _html(PhoneView(lang=lang))
    meeting = _MEETINGS.get(con, code)
    if meeting is None:
        return _html(PhoneView(lang=lang, code=code[:12], state="unknown"), 404)
    return _html(_view(con, meeting, device, lang, sent=request.query_params.get("sent") == "1"))


def _post(
    con: duckdb.DuckDBPyConnection, request: Request, device: str | None, lang: str, body: bytes
) -> Response:
    code = request.query_params.get("meeting", "").strip()
    meeting = _MEETINGS.get(con, code) if code else None
    if meeting is None:
        return _html(PhoneView(lang=lang, code=code[:12], state="unknown"), 404)
    if device is None:  # no cookie: a forged cross-site post, or cookies switched off
        return _html(PhoneView(lang=lang, code=meeting.code, title=meeting.title, state="unknown"), 403)
    form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=64)
    sent_csrf = (form.get("csrf") or [""])[0]
    if not hmac.compare_digest(sent_csrf.encode(), csrf_token(device).encode()):
        return _html(_view(con, meeting, device, lang, error=vote_error("expired", {}, lang)), 403)
    group_typed = (form.get("group") or [""])[0].strip()[:12]
    typed: dict[str, int] | None = None
    try:
        allocation, ranking, typed = _read_ballot(meeting, form)
        role = None  # the group of the phone's earlier ballot, else resident (kept in the same upsert)
        if group_typed:
            role = role_for_code(con, meeting.id, group_typed)
            if role is None:
                raise VoteError("group", "This group code is not valid for this meeting.")
        cast_ballot(con, meeting.code, device, role, allocation, ranking=ranking,
                    slip=(form.get("slip") or [""])[0] or None, meeting=meeting)  # fmt: skip
    except VoteError as exc:
        typed = typed if typed is not None else exc.params.get("typed")
        message = vote_error(exc.reason, exc.params, lang)
        return _html(
            _view(con, meeting, device, lang, error=message, typed=typed, group_typed=group_typed), 400
        )
    except Exception:  # noqa: BLE001 - the phone must hear that its vote was not stored, and may retry
        return _html(_view(con, meeting, device, lang, error=vote_error("failed", {}, lang)), 503)
    return RedirectResponse(PATH + "?" + urlencode({"meeting": meeting.code, "lang": lang, "sent": "1"}), 303)


def _error_page(con: duckdb.DuckDBPyConnection, meeting: Meeting, device: str, lang: str, reason: str,
                params: dict[str, Any], status: int, **extra: Any) -> Response:  # fmt: skip
    """The form again with the reason a ballot was not stored (reads the phone's ballot: call in a thread)."""
    return _html(_view(con, meeting, device, lang, error=vote_error(reason, params, lang), **extra), status)


class PhoneApp:
    """The /vote route as a plain ASGI app (GET: the page; POST: a ballot). Store work that only a returning
    phone or an error needs runs in the thread pool; a first visit and a ballot keep to the event loop."""

    def __init__(self, connect: Connect = process.connection) -> None:
        self.connect = connect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method not in ("GET", "HEAD", "POST"):
            response: Response = Response(
                "method not allowed", status_code=405, headers={"allow": "GET, POST"}
            )
        elif request.method == "POST":
            response = await self._post(request)
        else:
            response = await self._get(request)
        await response(scope, receive, send)

    async def _get(self, request: Request) -> Response:
        lang, device = pick_lang(request), _device(request)
        fresh = device is None
        token = device or secrets.token_urlsafe(24)
        con = self.connect()
        code = request.query_params.get("meeting", "").strip()
        found = _MEETINGS.peek(con, code) if code and fresh else None
        if found is None and code and fresh:  # read once per MEETING_TTL, by one thread
            found = await run_in_threadpool(_MEETINGS.entry, con, code)
        if found is not None and found.meeting is not None:  # a first visit: no store read of its own
            page = HTMLResponse(
                found.first_visit(lang, csrf_token(token)), headers={"cache-control": "no-store"}
            )
            return _with_cookie(page, request, token, fresh)
        response = await run_in_threadpool(_get, con, request, token, lang)
        return _with_cookie(response, request, token, fresh)

    async def _post(self, request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return Response("ballot too large", status_code=413)
        lang, device = pick_lang(request), _device(request)
        con = self.connect()
        code = request.query_params.get("meeting", "").strip()
        found = _MEETINGS.peek(con, code, ballot=True) if code else None
        if found is None:
            found = await run_in_threadpool(_MEETINGS.entry, con, code) if code else None
        meeting = found.meeting if found is not None else None
        if found is None or meeting is None or device is None or meeting.status != "open":
            return await run_in_threadpool(_post, con, request, device, lang, body)  # said as before
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=64)
        if not hmac.compare_digest((form.get("csrf") or [""])[0].encode(), csrf_token(device).encode()):
            return await run_in_threadpool(_error_page, con, meeting, device, lang, "expired", {}, 403)
        group_typed = (form.get("group") or [""])[0].strip()[:12]
        typed: dict[str, int] | None = None
        try:
            allocation, ranking, typed = _read_ballot(meeting, form)
            role = None  # the group of the phone's earlier ballot, else resident (kept in the same upsert)
            if group_typed:
                role = _role(found, group_typed) or await run_in_threadpool(
                    role_for_code, con, meeting.id, group_typed
                )  # a code made after the meeting was read
                if role is None:
                    raise VoteError("group", "This group code is not valid for this meeting.")
            sent = submit_ballot(con, meeting.code, device, role, allocation, ranking=ranking,
                                 slip=(form.get("slip") or [""])[0] or None, meeting=meeting)  # fmt: skip
            await asyncio.wrap_future(sent.future)  # stored once this resolves: its group has committed
            sent.receipt()  # VoteError for a ballot the store refused (slip, closed meanwhile)
        except VoteError as exc:
            typed = typed if typed is not None else exc.params.get("typed")
            page = partial(_error_page, typed=typed, group_typed=group_typed)
            return await run_in_threadpool(page, con, meeting, device, lang, exc.reason, exc.params, 400)
        except Exception:  # noqa: BLE001 - the phone must hear that its vote was not stored, and may retry
            return await run_in_threadpool(_error_page, con, meeting, device, lang, "failed", {}, 503)
        return RedirectResponse(
            PATH + "?" + urlencode({"meeting": meeting.code, "lang": lang, "sent": "1"}), 303
        )


def _role(found: _Found, typed: str) -> str | None:
    clean = normalise_slip(typed)
    if clean is None:
        return None
    for code, role in found.codes.items():
        if hmac.compare_digest(code.encode(), clean.encode()):
            return role
    return None


class PhoneFirst:
    """Sends requests for /vote straight to the PhoneApp among the app's routes, past the layers a phone
    needs none of (Streamlit's session and gzip middleware, the staff-page check, routing). Pure ASGI;
    keep it inside SecurityHeaders so phones get the same headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._seen: tuple[Any, PhoneApp | None] = (None, None)

    def _phone_app(self, app: Any) -> PhoneApp | None:
        seen_app, phone = self._seen
        if seen_app is not app:
            found = [r.app for r in getattr(app, "routes", ()) if getattr(r, "path", None) == PATH]
            phone = found[0] if found and isinstance(found[0], PhoneApp) else None
            self._seen = (app, phone)
        return phone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            phone = self._phone_app(scope.get("app"))
            if phone is not None:
                await phone(scope, receive, send)
                return
        await self.app(scope, receive, send)


def phone_routes(connect: Connect = process.connection) -> list[BaseRoute]:
    """The phone page's route; `connect` gives the store connection (tests pass their own)."""
    return [Route(PATH, PhoneApp(connect), methods=["GET", "HEAD", "POST"])]
