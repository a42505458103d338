"""Neighbourhood meetings: what is put to the vote, by whom, and in which state.

An officer creates a meeting for one or more areas with a date, a title, voting rules and a candidate list
proposed from the public-tier analytics (`propose_candidates`) and edited by hand; it gets a short join code
that residents type on their phones. States: draft (candidates editable) -> open (ballots accepted) ->
closed (ballots refused, results final). Casting ballots and counting them is `koban_geo.community.voting`.

Every write runs in `koban_geo.store.sql.writing` (one serialised transaction, safe from the server's threads)
together with its audit_log row; reads take a fresh cursor of `con` in one read transaction, so every
function here may be called with the server's one shared connection from any thread.

    >>> m = create_meeting(con, title="Kallio spring meeting", date=date(2026, 3, 4),
    ...                    areas=["HEL-102"], candidates=[theme_candidate("noise"), theme_candidate("drugs")],
    ...                    actor="anna.k")                                              # doctest: +SKIP
    >>> open_meeting(con, m.id, actor="anna.k").status                                  # doctest: +SKIP
    'open'
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

import duckdb

from koban_geo.store.i18n import LANGUAGES
from koban_geo.store.scope import bind_site
from koban_geo.store.sql import audit, cursor, plain_cursor, query, transaction, writing
from koban_geo.store.taxonomy import sensitive_codes, themes

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, no 1/I: read aloud and typed without mistakes
CODE_LENGTH = 6
ROLES = ("resident", "officer", "partner")
KINDS = ("theme", "hotspot", "custom")
METHODS = ("dots", "ranking")
MAX_CANDIDATES = 20
MAX_LABEL = 120
MAX_TITLE = 200
NOT_PROPOSED = frozenset({"other"})  # "Other" is no priority a meeting can act on


_KEY = re.compile(r"^(theme|hotspot|custom):[A-Za-z0-9_-]{1,40}$")
_SPACE = re.compile(r"\s+")


class MeetingError(ValueError):
    """A meeting action that cannot be done as asked; the message is one plain sentence for the officer."""


# ---------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """How a meeting votes: dots (a budget per participant, a cap per item) or ranking (Borda count)."""

    method: Literal["dots", "ranking"] = "dots"
    budget: int = 3
    max_per_item: int = 2

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise MeetingError(f"The voting method must be dots or ranking, not {self.method!r}.")
        if self.method == "dots":
            if not _is_int(self.budget) or not 1 <= self.budget <= 20:
                raise MeetingError("The dot budget must be a whole number from 1 to 20.")
            if not _is_int(self.max_per_item) or not 1 <= self.max_per_item <= self.budget:
                raise MeetingError("The most dots on one item must be from 1 to the budget.")

    def describe(self) -> str:
        if self.method == "dots":
            return (
                f"Dot voting: {self.budget} dots each, at most {self.max_per_item} on one item; "
                "a second ballot from the same phone replaces the first."
            )
        return (
            "Ranking (Borda count): with n items, your first choice gets n points, the next n-1, and so on; "
            "items you do not rank get none. A second ballot from the same phone replaces the first."
        )


@dataclass(frozen=True)
class Candidate:
    """One item on the list voted on. `labels` holds all seven languages; `count` is the public-tier number
    of concerns behind a proposal (None for hand-made items); `geometry` a shapely polygon (EPSG:4326)."""

    key: str
    kind: str
    labels: Mapping[str, str]
    count: int | None = None
    geometry: Any = None

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang) or self.labels["en"]

    def relabelled(self, labels: str | Mapping[str, str], lang: str = "en") -> Candidate:
        """The same item with new label(s): a string for `lang`, or a mapping of languages."""
        new = {lang: labels} if isinstance(labels, str) else dict(labels)
        return replace(self, labels={**self.labels, **new})

    def to_dict(self) -> dict[str, Any]:
        from koban_geo.store.geojson import geometry_json

        return {
            "key": self.key,
            "kind": self.kind,
            "labels": dict(self.labels),
            "count": self.count,
            "geometry": geometry_json(self.geometry) if self.geometry is not None else None,
        }


@dataclass(frozen=True)
class Meeting:
    id: int
    code: str
    title: str
    date: date
    areas: tuple[str, ...]
    rules: Rules
    weights: Mapping[str, float]  # per role (resident, officer, partner), as set; see voting.results
    status: Literal["draft", "open", "closed"]
    candidates: tuple[Candidate, ...]
    created_by: str
    created_at: datetime
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    site: str = "default"  # the site the meeting belongs to (store.sites)

    def candidate(self, key: str) -> Candidate | None:
        return next((c for c in self.candidates if c.key == key), None)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.candidates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "title": self.title,
            "date": self.date.isoformat(),
            "areas": list(self.areas),
            "rules": {"method": self.rules.method}
            | (
                {"budget": self.rules.budget, "max_per_item": self.rules.max_per_item}
                if self.rules.method == "dots"
                else {}
            ),  # fmt: skip
            "weights": dict(self.weights),
            "status": self.status,
            "candidates": [c.to_dict() for c in self.candidates],
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


# ---------------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def utcnow() -> datetime:
    """Naive UTC, as every meeting timestamp is stored."""
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def snapshot(con: duckdb.DuckDBPyConnection, *, macros: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh cursor of `con` inside one read transaction: a consistent view, safe from any thread."""
    cur = cursor(con) if macros else plain_cursor(con)
    try:
        with transaction(cur):
            yield cur
    finally:
        cur.close()


def new_join_code() -> str:
    """Six random characters (secrets) from an alphabet without 0/O or 1/I."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str | None:
    """A typed join code in canonical form (upper case, spaces and dashes dropped), or None if malformed."""
    if not isinstance(code, str):
        return None
    clean = re.sub(r"[\s-]+", "", code).upper()
    if len(clean) != CODE_LENGTH or any(ch not in ALPHABET for ch in clean):
        return None
    return clean


def _clean_text(text: Any, limit: int) -> str:
    return _SPACE.sub(" ", str(text)).strip()[:limit] if text is not None else ""


def theme_labels() -> dict[str, Mapping[str, str]]:
    return {t.code: t.labels for t in themes()}


def theme_candidate(code: str, count: int | None = None) -> Candidate:
    """A theme as a candidate, labelled from the taxonomy; sensitive themes are never put to a meeting."""
    labels = theme_labels()
    if code not in labels:
        raise MeetingError(f"There is no theme {code!r}.")
    if code in sensitive_codes():
        raise MeetingError(f"The theme {code!r} is sensitive and is never put to a public meeting.")
    return Candidate(key=f"theme:{code}", kind="theme", labels=dict(labels[code]), count=count)


def custom_candidate(labels: str | Mapping[str, str], key: str | None = None) -> Candidate:
    """An item the officer writes in (e.g. raised in the room); languages left out show the English label."""
    given = {"en": labels} if isinstance(labels, str) else dict(labels)
    if key is None:
        digest = hashlib.sha256(_clean_text(given.get("en") or next(iter(given.values()), ""), MAX_LABEL)
                                .casefold().encode()).hexdigest()[:8]  # fmt: skip
        key = f"custom:{digest}"
    return Candidate(key=key, kind="custom", labels=given)


def _clean_candidates(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Checked and tidied: known kinds, unique well-formed keys, all seven labels, no sensitive theme, no
    point geometry (a public screen never shows a point)."""
    if len(candidates) > MAX_CANDIDATES:
        raise MeetingError(f"A meeting has at most {MAX_CANDIDATES} items to vote on.")
    known_themes = theme_labels()
    seen: set[str] = set()
    out = []
    for cand in candidates:
        if not isinstance(cand, Candidate):
            raise MeetingError("Each item must be a Candidate (see theme_candidate and custom_candidate).")
        if cand.kind not in KINDS or not _KEY.match(cand.key) or not cand.key.startswith(cand.kind + ":"):
            raise MeetingError(
                f"The item key {cand.key!r} is not of the form theme:<code>, hotspot:<id> or custom:<id>."
            )
        if cand.key in seen:
            raise MeetingError(f"The item {cand.key!r} is on the list twice.")
        seen.add(cand.key)
        if cand.kind == "theme":
            code = cand.key.split(":", 1)[1]
            if code not in known_themes:
                raise MeetingError(f"There is no theme {code!r}.")
            if code in sensitive_codes():
                raise MeetingError(f"The theme {code!r} is sensitive and is never put to a public meeting.")
        given = {lang: _clean_text(cand.labels.get(lang), MAX_LABEL) for lang in LANGUAGES}
        fallback = given["en"] or next((v for v in given.values() if v), "")
        if not fallback:
            raise MeetingError(f"The item {cand.key!r} needs a label.")
        labels = {lang: given[lang] or fallback for lang in LANGUAGES}
        if cand.count is not None and (not _is_int(cand.count) or cand.count < 0):
            raise MeetingError(f"The count of {cand.key!r} must be a whole number, 0 or more.")
        geom = cand.geometry
        if geom is not None and getattr(geom, "geom_type", None) not in ("Polygon", "MultiPolygon"):
            raise MeetingError(f"The item {cand.key!r} may only carry an area (polygon), never a point.")
        out.append(replace(cand, labels=labels))
    return out


def area_codes(areas: Sequence[str] | str) -> list[str]:
    codes = [areas] if isinstance(areas, str) else list(areas)
    codes = list(dict.fromkeys(str(a).strip() for a in codes if str(a).strip()))
    if not codes:
        raise MeetingError("Choose at least one area.")
    return codes


def known_areas(cur: duckdb.DuckDBPyConnection, codes: Sequence[str]) -> dict[str, tuple[str, bytes]]:
    rows = query(cur, "meeting_areas", {"areas": list(codes)}).fetchall()
    found = {code: (name, bytes(wkb)) for code, name, wkb in rows}
    missing = [c for c in codes if c not in found]
    if missing:
        raise MeetingError(f"Unknown area code(s): {', '.join(missing)}.")
    return found


# ---------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------


def _candidates(cur: duckdb.DuckDBPyConnection, meeting_id: int) -> tuple[Candidate, ...]:
    import shapely

    out = []
    for row in query(cur, "meeting_candidates", {"meeting_id": meeting_id}).fetchall():
        key, kind, *labels, count, wkb = row
        out.append(
            Candidate(
                key=key,
                kind=kind,
                labels=dict(zip(LANGUAGES, labels, strict=True)),
                count=count,
                geometry=shapely.from_wkb(bytes(wkb)) if wkb is not None else None,
            )
        )
    return tuple(out)


def load_meeting(cur: duckdb.DuckDBPyConnection, meeting_id: int) -> Meeting:
    """The meeting with its candidates, read on `cur` (inside the caller's transaction)."""
    row = query(cur, "meeting_get", {"meeting_id": int(meeting_id)}).fetchone()
    if row is None:
        raise MeetingError(f"There is no meeting {meeting_id}.")
    (mid, code, title, when, areas, method, budget, cap, w_res, w_off, w_par, status, created_by,
     created_at, opened_at, closed_at, site) = row  # fmt: skip
    rules = Rules(method) if method == "ranking" else Rules(method, budget, cap)
    return Meeting(
        id=mid, code=code, title=title, date=when, areas=tuple(areas), rules=rules,
        weights={"resident": w_res, "officer": w_off, "partner": w_par}, status=status,
        candidates=_candidates(cur, mid), created_by=created_by, created_at=created_at,
        opened_at=opened_at, closed_at=closed_at, site=site,
    )  # fmt: skip


def get_meeting(con: duckdb.DuckDBPyConnection, meeting_id: int) -> Meeting:
    """The meeting with this id; MeetingError when there is none."""
    with snapshot(con) as cur:
        return load_meeting(cur, meeting_id)


def meeting_by_code(con: duckdb.DuckDBPyConnection, code: str, *, any_site: bool = False) -> Meeting | None:
    """The meeting a join code names (the draft or open one; else the last closed one) in `con`'s site, or
    None. `any_site`: in whichever site holds it (phones and the public meeting screen know only the code,
    which is unique in the store among meetings not closed); `Meeting.site` then says which."""
    clean = normalise_code(code)
    if clean is None:
        return None
    with snapshot(con) as cur:
        if any_site:
            found = query(cur, "vote_meeting_by_code", {"code": clean}).fetchone()
            if found is None:
                return None
            bind_site(cur, found[5])  # this snapshot's cursor reads in the meeting's site
            return load_meeting(cur, found[0])
        row = query(cur, "meeting_by_code", {"code": clean}).fetchone()
        return load_meeting(cur, row[0]) if row else None


def last_closed_meeting_date(
    con: duckdb.DuckDBPyConnection, areas: Sequence[str] | None = None
) -> date | None:
    """The date of the latest closed meeting (sharing an area with `areas`, if given), or None: the start of
    the dashboard's "since the last meeting" period."""
    with snapshot(con) as cur:
        row = query(cur, "meeting_last_closed_date", {"areas": list(areas) if areas else None}).fetchone()
    return row[0] if row else None


def list_meetings(
    con: duckdb.DuckDBPyConnection, status: str | None = None, areas: Sequence[str] | None = None
) -> list[Meeting]:
    """Meetings, newest date first; optionally only one state, or only those sharing an area with `areas`."""
    if status is not None and status not in ("draft", "open", "closed"):
        raise MeetingError(f"A meeting state is draft, open or closed, not {status!r}.")
    with snapshot(con) as cur:
        ids = query(
            cur, "meeting_list", {"status": status, "areas": list(areas) if areas else None}
        ).fetchall()
        return [load_meeting(cur, mid) for (mid,) in ids]


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------


def _store_candidates(
    cur: duckdb.DuckDBPyConnection, meeting_id: int, candidates: Sequence[Candidate]
) -> None:
    import shapely

    params: dict[str, Any] = {
        "meeting_id": meeting_id,
        "keys": [c.key for c in candidates],
        "kinds": [c.kind for c in candidates],
        "counts": [c.count for c in candidates],
        "wkb": [shapely.to_wkb(c.geometry) if c.geometry is not None else None for c in candidates],
    }
    for lang in LANGUAGES:
        params[f"label_{lang}"] = [c.labels[lang] for c in candidates]
    query(cur, "meeting_candidates_set", params)


def _candidate_changes(before: Sequence[Candidate], after: Sequence[Candidate]) -> str:
    old = {c.key: c for c in before}
    new = {c.key: c for c in after}
    added = [k for k in new if k not in old]
    removed = [k for k in old if k not in new]
    relabelled = [k for k in new if k in old and dict(old[k].labels) != dict(new[k].labels)]
    parts = [f"{name} {', '.join(keys)}" for name, keys in
             (("added", added), ("removed", removed), ("relabelled", relabelled)) if keys]  # fmt: skip
    if [k for k in old if k in new] != [k for k in new if k in old]:
        parts.append("reordered")
    return "; ".join(parts) or "no change"


def create_meeting(
    con: duckdb.DuckDBPyConnection,
    *,
    title: str,
    date: date | datetime,
    areas: Sequence[str] | str,
    actor: str,
    candidates: Sequence[Candidate] = (),
    rules: Rules | None = None,
) -> Meeting:
    """A new draft meeting with a fresh join code (unique among meetings not closed)."""
    rules = rules or Rules()
    title = _clean_text(title, MAX_TITLE)
    if not title:
        raise MeetingError("The meeting needs a title.")
    when = date.date() if isinstance(date, datetime) else date
    codes = area_codes(areas)
    cleaned = _clean_candidates(candidates)
    with writing(con) as cur:
        known_areas(cur, codes)
        if not cleaned:
            raise MeetingError("A meeting needs at least one item to vote on.")
        for _ in range(100):
            code = new_join_code()
            if not query(cur, "meeting_code_taken", {"code": code}).fetchone()[0]:
                break
        else:  # 32^6 codes: only reachable with about a billion meetings open at once
            raise MeetingError("No free join code could be found; close some old meetings.")
        meeting_id = query(cur, "meeting_insert", {
            "code": code, "title": title, "meeting_date": when, "areas": codes, "method": rules.method,
            "budget": rules.budget if rules.method == "dots" else None,
            "max_per_item": rules.max_per_item if rules.method == "dots" else None,
            "actor": actor, "now": utcnow(),
        }).fetchone()[0]  # fmt: skip
        _store_candidates(cur, meeting_id, cleaned)
        audit(cur, actor, "meeting.create",
              f"meeting {meeting_id} code {code} '{title}' {when.isoformat()} areas {','.join(codes)}; "
              f"{rules.describe()} Items: {', '.join(c.key for c in cleaned) or 'none'}")  # fmt: skip
        return load_meeting(cur, meeting_id)


def set_candidates(
    con: duckdb.DuckDBPyConnection, meeting_id: int, candidates: Sequence[Candidate], actor: str
) -> Meeting:
    """Replace the list voted on (add, remove, relabel, reorder); only while the meeting is a draft."""
    cleaned = _clean_candidates(candidates)
    if not cleaned:
        raise MeetingError("A meeting needs at least one item to vote on.")
    with writing(con) as cur:
        meeting = load_meeting(cur, meeting_id)
        if meeting.status != "draft":
            raise MeetingError("The list can only be changed before the meeting is opened.")
        _store_candidates(cur, meeting.id, cleaned)
        audit(cur, actor, "meeting.candidates",
              f"meeting {meeting.id}: {_candidate_changes(meeting.candidates, cleaned)}")  # fmt: skip
        return load_meeting(cur, meeting.id)


# The state changes: (from, to) and the sentence refusing a change from any other state.
_MOVES = {
    "open": ("draft", "open", "Only a draft meeting can be opened."),
    "close": ("open", "closed", "Only an open meeting can be closed."),
    "reopen": ("closed", "open", "Only a closed meeting can be reopened."),
}
STATUS_WORDS = {"draft": "in preparation", "open": "open for voting", "closed": "closed"}


def _move(
    con: duckdb.DuckDBPyConnection, meeting_id: int, actor: str, action: str, expect: str | None
) -> Meeting:
    """One state change, idempotent: a meeting already in the target state is returned unchanged (a double
    click changes nothing), and with `expect` a meeting found in any other state than `expect` is refused
    (the officer acted on a screen that was out of date)."""
    src, to, refusal = _MOVES[action]
    if expect is not None and expect != src:
        raise MeetingError(f"To {action} a meeting it must be {STATUS_WORDS[src]}, not {expect!r}.")
    with writing(con) as cur:
        meeting = load_meeting(cur, meeting_id)
        if meeting.status == to and expect is not None:
            return meeting  # already done (a second click of the same button): nothing to do
        if meeting.status != src:
            if expect is not None:
                raise MeetingError(
                    f"The meeting is {STATUS_WORDS[meeting.status]} now, not {STATUS_WORDS[expect]}; "
                    "nothing was changed. Reload the page to see its state."
                )
            raise MeetingError(refusal)
        detail = f"meeting {meeting.id} code {meeting.code}"
        if to == "open":
            if len(meeting.candidates) < 2:
                raise MeetingError("A meeting needs at least two items to vote on before it opens.")
            if src == "closed" and query(cur, "meeting_code_taken", {"code": meeting.code}).fetchone()[0]:
                raise MeetingError(
                    f"Another meeting now uses the join code {meeting.code}; this one cannot be reopened."
                )
        else:
            per_role = dict(query(cur, "vote_participants", {"meeting_id": meeting.id}).fetchall())
            counts = query(cur, "vote_counts", {"meeting_id": meeting.id}).fetchall()
            detail += (f": {sum(per_role.values())} ballots ("
                       + ", ".join(f"{r} {per_role.get(r, 0)}" for r in ROLES)
                       + f"), {len(counts)} facilitator counts")  # fmt: skip
        query(cur, "meeting_set_status", {"meeting_id": meeting.id, "from_status": src, "to_status": to,
                                          "now": utcnow()})  # fmt: skip
        audit(cur, actor, f"meeting.{action}", detail)
        return load_meeting(cur, meeting.id)


def open_meeting(
    con: duckdb.DuckDBPyConnection, meeting_id: int, actor: str, *, expect: str | None = None
) -> Meeting:
    """Start accepting ballots (draft -> open); the candidate list is fixed from now on.

    With expect="draft" the call is idempotent: a meeting already open is returned unchanged, one in any
    other state is refused (see `_move`)."""
    return _move(con, meeting_id, actor, "open", expect)


def close_meeting(
    con: duckdb.DuckDBPyConnection, meeting_id: int, actor: str, *, expect: str | None = None
) -> Meeting:
    """Stop accepting ballots (open -> closed); ballots cast after this raise VoteError.
    With expect="open": idempotent, as `open_meeting`."""
    return _move(con, meeting_id, actor, "close", expect)


def reopen_meeting(
    con: duckdb.DuckDBPyConnection, meeting_id: int, actor: str, *, expect: str | None = None
) -> Meeting:
    """Accept ballots again (closed -> open), e.g. when voting was closed by mistake; the ballots already cast
    stay. Refused when another meeting took the join code meanwhile. With expect="closed": idempotent."""
    return _move(con, meeting_id, actor, "reopen", expect)


def set_weights(
    con: duckdb.DuckDBPyConnection, meeting_id: int, weights: Mapping[str, float], actor: str
) -> Meeting:
    """Set the groups' weights in the combined result (roles left out keep theirs); not after closing."""
    unknown = sorted(set(weights) - set(ROLES))
    if unknown:
        raise MeetingError(f"Weights are for resident, officer and partner, not {', '.join(unknown)}.")
    for role, value in weights.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise MeetingError(f"The weight of {role} must be a number from 0 to 100.")
    with writing(con) as cur:
        meeting = load_meeting(cur, meeting_id)
        if meeting.status == "closed":
            raise MeetingError("The meeting is closed; its weights are final.")
        new = {role: float(weights.get(role, meeting.weights[role])) for role in ROLES}
        if not any(new.values()):
            raise MeetingError("At least one group needs a weight above 0.")
        query(cur, "meeting_set_weights", {"meeting_id": meeting.id, **new})
        audit(cur, actor, "meeting.weights",
              f"meeting {meeting.id}: " + ", ".join(f"{r} {meeting.weights[r]:g} -> {new[r]:g}" for r in ROLES))  # fmt: skip
        return load_meeting(cur, meeting.id)
