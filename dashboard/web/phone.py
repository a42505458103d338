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
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

import duckdb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from koban_geo.community.admission import role_for_code
from koban_geo.community.joining import JOIN_PATH
from koban_geo.community.meetings import Meeting, meeting_by_code, normalise_code
from koban_geo.community.voting import MAX_TOKEN, MIN_TOKEN, VoteError, cast_ballot, phone_state
from koban_geo.store.i18n import format_date
from ui.i18n import LANGS
from web import process
from web.phone_page import Item, PhoneView, render, vote_error

__all__ = ["COOKIE", "csrf_token", "phone_routes", "pick_lang"]

PATH = JOIN_PATH  # one owner of the join link: koban_geo.community.joining
COOKIE = "koban_device"
COOKIE_DAYS = 30
MAX_BODY = 16_384  # a ballot is a few hundred bytes
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_CSRF_LABEL = b"koban phone form"

MEETING_TTL = 2.0  # seconds a meeting read for the page is reused (items are fixed once open; a ballot
# is checked against the stored state in its own transaction, so a stale state never lets one through)

Connect = Callable[[], duckdb.DuckDBPyConnection]


class _Meetings:
    """Meetings by join code, read at most once per MEETING_TTL per process: 150 phones opening the page at
    once need one read of the meeting and its items, not 150."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[tuple[int, str], tuple[float, Meeting | None]] = {}

    def get(self, con: duckdb.DuckDBPyConnection, code: str) -> Meeting | None:
        clean = normalise_code(code)
        if clean is None:
            return None
        key, now = (id(con), clean), time.monotonic()
        with self._lock:
            hit = self._found.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        meeting = meeting_by_code(con, clean)
        with self._lock:
            if len(self._found) > 1000:  # codes typed at random do not pile up
                self._found.clear()
            self._found[key] = (now + MEETING_TTL, meeting)
        return meeting


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


def _view(
    con: duckdb.DuckDBPyConnection, meeting: Meeting, device: str, lang: str, **extra: Any
) -> PhoneView:
    """The page of an existing meeting for this phone; `extra` overrides (an error, the values typed)."""
    state = meeting.status
    if state != "open":
        return PhoneView(lang=lang, code=meeting.code, title=meeting.title, date=format_date(meeting.date, lang),
                         state=state)  # fmt: skip
    current, slips_required = phone_state(con, meeting.id, meeting.rules.method, device)
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
        "cap": meeting.rules.max_per_item, "items": items, "csrf": csrf_token(device),
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


def phone_routes(connect: Connect = process.connection) -> list[BaseRoute]:
    """The phone page's route; `connect` gives the store connection (tests pass their own)."""

    async def vote(request: Request) -> Response:
        lang = pick_lang(request)
        device = _device(request)
        if request.method == "POST":
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY:
                    return Response("ballot too large", status_code=413)
            return await run_in_threadpool(lambda: _post(connect(), request, device, lang, body))
        fresh = device is None
        token = device or secrets.token_urlsafe(24)
        response = await run_in_threadpool(lambda: _get(connect(), request, token, lang))
        return _with_cookie(response, request, token, fresh)

    return [Route(PATH, vote, methods=["GET", "POST"])]
