"""Ballots and results of a meeting (koban_geo.community.meetings): dot voting or ranking, per group and combined.

Each participant votes from a phone as a resident, an officer or a partner. A phone is known only by the
SHA-256 of '<meeting id>:<device token>'; its second ballot replaces the first (one row per device), in one
serialised transaction (`koban_geo.store.sql.writing`), so concurrent changes are never lost or double counted.

Points: dot voting counts dots; ranking uses the Borda count: with n items on the list, a participant's
first choice gets n points, the second n-1, ... and items left unranked get 0. The facilitator's paper or
show-of-hands counts are points in the same unit, added to their group and listed apart.

Combined result (the weights are shown and editable, default equal)::

    share_g(c)   = points_g(c) / sum over items c' of points_g(c')       (group g's share of its own points)
    combined(c)  = sum over groups g of w_g * share_g(c)
    w_g          = weight_g / sum of weight_h over the groups h that have any points

so a large group cannot swamp a small one: each group counts by its weight, whatever its size, and the
combined scores of all items sum to 1 (100 %) once anyone has voted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from numbers import Integral
from typing import Any, Literal

import duckdb

from koban_geo.community.ballot_writer import GROUP_COMMIT, Pending, Refused
from koban_geo.community.meetings import (
    ROLES,
    Candidate,
    Meeting,
    MeetingError,
    load_meeting,
    normalise_code,
    snapshot,
    utcnow,
)
from koban_geo.store.scope import bind_site
from koban_geo.store.sql import audit, query, writing

FORMULA = (
    "combined(item) = sum over groups of w_g x share_g(item); share_g(item) = the group's points on the item / "
    "all the group's points; w_g = the group's weight / the sum of the weights of the groups that voted."
)
MIN_TOKEN = 16
MAX_TOKEN = 256
MAX_NOTE = 300
MAX_COUNT = 100_000


class VoteError(MeetingError):
    """A ballot that cannot be taken. `message` is one plain sentence safe to show on the phone; `reason`
    is a stable code the screens can translate from (with `params` for the numbers in it)."""

    def __init__(self, reason: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.params = params


# --- Data ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ballot:
    """A phone's current vote. `points` maps item key -> dots or Borda points; `allocation` is the dots as
    placed (dot voting) and `ranking` the items in rank order (ranking); the other is None."""

    meeting_id: int
    role: str
    points: Mapping[str, int]
    allocation: Mapping[str, int] | None
    ranking: tuple[str, ...] | None
    revision: int  # 1 = the phone's first ballot; n = it has replaced its ballot n-1 times
    cast_at: datetime  # to the minute (UTC)


@dataclass(frozen=True)
class Receipt(Ballot):
    """What cast_ballot gives back: the ballot as stored, and whether it replaced an earlier one."""

    code: str = ""
    replaced: bool = False


@dataclass(frozen=True)
class FacilitatorCount:
    id: int
    role: str
    source: Literal["paper", "hands"]
    counts: Mapping[str, int]
    note: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class GroupResult:
    role: str
    weight: float  # as set on the meeting
    effective_weight: float  # w_g of the formula (0 when the group has no points)
    participants: int  # phones that voted in this group (facilitator counts not included)
    ballot_points: Mapping[str, int]
    counted_points: Mapping[str, int]  # from facilitator counts
    points: Mapping[str, int]  # ballot_points + counted_points
    total: int
    shares: Mapping[str, float]  # points / total (0 when total is 0)


@dataclass(frozen=True)
class RankedCandidate:
    rank: int  # 1 = first; equal combined scores share a rank
    candidate: Candidate
    combined: float
    points: int  # all groups' points, facilitator counts included


@dataclass(frozen=True)
class Results:
    meeting: Meeting
    groups: Mapping[str, GroupResult]  # resident, officer, partner (always all three)
    combined: Mapping[str, float]  # item key -> combined score, 0..1
    ranking: tuple[RankedCandidate, ...]
    facilitator_counts: tuple[FacilitatorCount, ...] = field(default_factory=tuple)
    formula: str = FORMULA

    @property
    def ballots(self) -> int:
        return sum(g.participants for g in self.groups.values())

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "meeting": {k: v for k, v in self.meeting.to_dict().items() if k != "candidates"},
            "formula": self.formula,
            "ballots": self.ballots,
            "groups": {
                role: {
                    "weight": g.weight,
                    "effective_weight": g.effective_weight,
                    "participants": g.participants,
                    "total": g.total,
                    "points": dict(g.points),
                    "ballot_points": dict(g.ballot_points),
                    "counted_points": dict(g.counted_points),
                    "shares": dict(g.shares),
                }
                for role, g in self.groups.items()
            },  # fmt: skip
            "ranking": [
                {
                    "rank": r.rank,
                    "key": r.candidate.key,
                    "kind": r.candidate.kind,
                    "label": r.candidate.label(lang),
                    "combined": r.combined,
                    "points": r.points,
                }
                for r in self.ranking
            ],  # fmt: skip
            "facilitator_counts": [
                {
                    "id": f.id,
                    "role": f.role,
                    "source": f.source,
                    "counts": dict(f.counts),
                    "note": f.note,
                    "added_by": f.added_by,
                    "added_at": f.added_at.isoformat(),
                }
                for f in self.facilitator_counts
            ],  # fmt: skip
        }


# --- Ballots ---------------------------------------------------------------------------------------------


def device_hash(meeting_id: int, device_token: str) -> str:
    """What the store keeps of a phone: per meeting, so one phone cannot be followed across meetings."""
    return hashlib.sha256(f"{int(meeting_id)}:{device_token}".encode()).hexdigest()


def _check_token(device_token: Any) -> str:
    if (
        not isinstance(device_token, str)
        or not MIN_TOKEN <= len(device_token) <= MAX_TOKEN
        or not device_token.isprintable()
    ):
        raise VoteError("device", "This phone could not be recognised; reload the page and try again.")
    return device_token


def _by_code(
    cur: duckdb.DuckDBPyConnection, code: str
) -> tuple[int, str, str, int | None, int | None] | None:
    """(id, status, method, budget, cap) of the meeting a join code names, or None.

    A phone knows only the join code (unique in the store among meetings not closed), so the meeting is
    found in every site and the cursor `cur` (a fresh one of this call) then works in the meeting's site."""
    clean = normalise_code(code)
    row = query(cur, "vote_meeting_by_code", {"code": clean}).fetchone() if clean else None
    if row is None:
        return None
    bind_site(cur, row[5])
    return row[0], row[1], row[2], row[3], row[4]


def _open_meeting(
    cur: duckdb.DuckDBPyConnection, code: str
) -> tuple[int, str, int | None, int | None, list[str]]:
    """(id, method, budget, cap, keys) of the open meeting with this code, or a VoteError saying why not."""
    found = _by_code(cur, code)
    if found is None:
        raise VoteError("no_meeting", "No meeting has this code; check the code on the screen.")
    mid, status, method, budget, cap = found
    if status == "draft":
        raise VoteError("not_open", "Voting has not started yet; try again when the facilitator opens it.")
    if status == "closed":
        raise VoteError("closed", "Voting has closed for this meeting.")
    keys = [key for (key,) in query(cur, "vote_keys", {"meeting_id": mid}).fetchall()]
    return mid, method, budget, cap, keys


def _dots(allocation: Mapping[str, Any], keys: Sequence[str], budget: int, cap: int) -> dict[str, int]:
    if not isinstance(allocation, Mapping):
        raise VoteError("form", "This meeting uses dot voting: place your dots on the items.")
    known = set(keys)
    for key, dots in allocation.items():
        if key not in known:
            raise VoteError("unknown_item", "Your ballot names an item that is not on this meeting's list.")
        if not isinstance(dots, Integral) or isinstance(dots, bool) or int(dots) < 0:
            raise VoteError("not_whole", "Dots are whole numbers, 0 or more.")
        if int(dots) > cap:
            raise VoteError("cap", f"At most {cap} dots can go on one item.", cap=cap)
    total = sum(int(d) for d in allocation.values())
    if total > budget:
        raise VoteError(
            "budget", f"You have {budget} dots; this ballot uses {total}.", budget=budget, used=total
        )
    if total == 0:
        raise VoteError("empty", "Place at least one dot.")
    return {k: int(allocation[k]) for k in keys if allocation.get(k)}  # the list's order


def _borda(ranking: Sequence[str], keys: Sequence[str]) -> dict[str, int]:
    if isinstance(ranking, (str, bytes)) or not isinstance(ranking, Sequence):
        raise VoteError("form", "This meeting uses ranking: put the items in your order of priority.")
    known = set(keys)
    if any(k not in known for k in ranking):
        raise VoteError("unknown_item", "Your ballot names an item that is not on this meeting's list.")
    if len(set(ranking)) != len(ranking):
        raise VoteError("duplicate", "Each item can be ranked only once.")
    if not ranking:
        raise VoteError("empty", "Rank at least one item.")
    n = len(keys)
    return {key: n - i for i, key in enumerate(ranking)}


def cast_ballot(
    con: duckdb.DuckDBPyConnection,
    code: str,
    device_token: str,
    role: str | None,
    allocation: Mapping[str, int] | None = None,
    *,
    ranking: Sequence[str] | None = None,
    slip: str | None = None,
    meeting: Meeting | None = None,
) -> Receipt:
    """Take a phone's ballot for the open meeting with join code `code`, replacing the phone's earlier one.

    Dot voting: `allocation` maps item key -> dots (at most the budget in all, at most the cap on one item,
    at least one dot). Ranking: `ranking` lists item keys, most important first (any number, each once).
    Stored in one serialised transaction that also checks the meeting is still open; raises VoteError
    with a message for the phone. A meeting in slip mode (koban_geo.community.admission) takes a phone's
    first ballot only with an unused `slip`, redeemed in the same transaction; later ballots need none.
    `role` None keeps the group of the phone's earlier ballot (a resident's, for a first ballot).
    `meeting`: the meeting with this code as the caller read it while open (its rules and items are fixed
    from then on), to skip reading them again; whether it is still open is checked in the write either way.
    """
    return submit_ballot(con, code, device_token, role, allocation, ranking=ranking, slip=slip,
                         meeting=meeting).receipt()  # fmt: skip


@dataclass(frozen=True)
class SentBallot:
    """A checked ballot handed to the writer (ballot_writer.GROUP_COMMIT): `future` is done once the group
    holding it has committed; `receipt()` then gives the Receipt or raises VoteError (or the store's error)."""

    future: Future[Any]
    meeting_id: int
    method: str
    points: Mapping[str, int]
    code: str

    def receipt(self) -> Receipt:
        stored = self.future.result()
        if isinstance(stored, Refused):
            raise VoteError(stored.reason, stored.message)
        if stored is None:
            raise VoteError("closed", "Voting has closed for this meeting.")
        revision, cast_at, stored_role = stored
        return Receipt(
            meeting_id=self.meeting_id, role=stored_role, points=self.points,
            allocation=dict(self.points) if self.method == "dots" else None,
            ranking=tuple(self.points) if self.method == "ranking" else None,
            revision=revision, cast_at=cast_at, code=self.code, replaced=revision > 1,
        )  # fmt: skip


def submit_ballot(
    con: duckdb.DuckDBPyConnection,
    code: str,
    device_token: str,
    role: str | None,
    allocation: Mapping[str, int] | None = None,
    *,
    ranking: Sequence[str] | None = None,
    slip: str | None = None,
    meeting: Meeting | None = None,
) -> SentBallot:
    """cast_ballot without waiting: checks the ballot now (VoteError) and queues it for the writer. With an
    open `meeting` given it touches no store before the writer does (the phone page calls it from its event
    loop and awaits the Future)."""
    if role is not None and role not in ROLES:
        raise VoteError("role", "Choose whether you vote as a resident, an officer or a partner.")
    token = _check_token(device_token)
    # Checked before taking the write lock: an open meeting's items never change, and the upsert below
    # stores the ballot only if the meeting is still open, in the same transaction.
    mid: int
    method: str
    budget: int | None
    cap: int | None
    keys: list[str]
    if meeting is not None and meeting.status == "open" and meeting.code == normalise_code(code):
        mid, method, keys = meeting.id, meeting.rules.method, list(meeting.keys)
        budget, cap = meeting.rules.budget, meeting.rules.max_per_item
    else:
        with snapshot(con) as cur:
            mid, method, budget, cap, keys = _open_meeting(cur, code)
    if method == "dots":
        if allocation is None or ranking is not None:
            raise VoteError("form", "This meeting uses dot voting: place your dots on the items.")
        assert budget is not None and cap is not None
        points = _dots(allocation, keys, budget, cap)
    else:
        if ranking is None or allocation is not None:
            raise VoteError("form", "This meeting uses ranking: put the items in your order of priority.")
        points = _borda(ranking, keys)
    entry = Pending(con, mid, device_hash(mid, token), role, points, slip)
    return SentBallot(GROUP_COMMIT.submit(entry), mid, method, points, normalise_code(code) or "")


def phone_state(
    con: duckdb.DuckDBPyConnection, meeting_id: int, method: str, device_token: str
) -> tuple[Ballot | None, bool]:
    """(the phone's current ballot or None, whether the meeting needs a ballot slip) in one read: what the
    phone page shows on every visit (`method` is the meeting's, dots or ranking)."""
    with snapshot(con) as cur:
        row = query(cur, "phone_state", {
            "meeting_id": int(meeting_id), "device_sha256": device_hash(meeting_id, device_token),
        }).fetchone()  # fmt: skip
    slips_required, role, keys, pts, revision, cast_at = row
    if role is None:
        return None, bool(slips_required)
    points = dict(zip(keys, pts, strict=True))
    return Ballot(
        meeting_id=int(meeting_id), role=role, points=points,
        allocation=dict(points) if method == "dots" else None,
        ranking=tuple(keys) if method == "ranking" else None, revision=revision, cast_at=cast_at,
    ), bool(slips_required)  # fmt: skip


def ballot_of(con: duckdb.DuckDBPyConnection, code: str, device_token: str) -> Ballot | None:
    """The phone's current ballot in the meeting with this join code (any state), or None."""
    if not isinstance(device_token, str) or not device_token:
        return None
    with snapshot(con) as cur:
        meeting = _by_code(cur, code)
        if meeting is None:
            return None
        mid, _, method, _, _ = meeting
        found = query(
            cur, "vote_ballot", {"meeting_id": mid, "device_sha256": device_hash(mid, device_token)}
        )
        ballot = found.fetchone()
    if ballot is None:
        return None
    role, keys, pts, revision, cast_at = ballot
    points = dict(zip(keys, pts, strict=True))
    return Ballot(
        meeting_id=mid, role=role, points=points,
        allocation=dict(points) if method == "dots" else None,
        ranking=tuple(keys) if method == "ranking" else None, revision=revision, cast_at=cast_at,
    )  # fmt: skip


# --- Facilitator counts ----------------------------------------------------------------------------------


def add_facilitator_count(
    con: duckdb.DuckDBPyConnection,
    meeting_id: int,
    group: str,
    counts: Mapping[str, int],
    note: str,
    actor: str,
    *,
    source: Literal["paper", "hands"] = "hands",
) -> FacilitatorCount:
    """Add a paper or show-of-hands count for one group while the meeting is open.

    `counts` maps item key -> points in the meeting's unit (a raised hand or a paper dot is one dot; for a
    ranking meeting enter Borda points). Stored as its own row, counted in the group, listed in results.
    The note is scrubbed of personal data (koban_geo.privacy.scrub).
    """
    from koban_geo.privacy.scrub import scrub_text

    if group not in ROLES:
        raise MeetingError("A count is for the residents, the officers or the partners.")
    if source not in ("paper", "hands"):
        raise MeetingError("A count comes from paper ballots or a show of hands.")
    clean_note = scrub_text(" ".join(str(note or "").split()))[:MAX_NOTE]
    with writing(con) as cur:
        meeting = load_meeting(cur, meeting_id)
        if meeting.status != "open":
            raise MeetingError("Counts can be added only while the meeting is open.")
        keys = [k for k in meeting.keys if k in counts]
        if set(counts) - set(keys):
            raise MeetingError("The count names an item that is not on this meeting's list.")
        for value in counts.values():
            if not isinstance(value, Integral) or isinstance(value, bool) or not 0 <= int(value) <= MAX_COUNT:
                raise MeetingError(f"Counts are whole numbers from 0 to {MAX_COUNT}.")
        keys = [k for k in keys if counts[k] > 0]
        if not keys:
            raise MeetingError("The count is empty: enter at least one number above 0.")
        values = [int(counts[k]) for k in keys]
        now = utcnow()
        count_id = query(cur, "vote_count_insert", {
            "meeting_id": meeting.id, "role": group, "source": source, "keys": keys, "points": values,
            "note": clean_note, "actor": actor, "now": now,
        }).fetchone()[0]  # fmt: skip
        audit(cur, actor, "meeting.count",
              f"meeting {meeting.id}: {source} count {count_id} for {group}: "
              + ", ".join(f"{k} {v}" for k, v in zip(keys, values, strict=True))
              + (f"; note: {clean_note}" if clean_note else ""))  # fmt: skip
    return FacilitatorCount(
        count_id, group, source, dict(zip(keys, values, strict=True)), clean_note, actor, now
    )


# --- Results ---------------------------------------------------------------------------------------------


def results(con: duckdb.DuckDBPyConnection, meeting_id: int) -> Results:
    """Per group (participants, points, shares) and combined with the meeting's weights, ranked; facilitator
    counts included in their group and listed apart. One consistent snapshot; safe from any thread."""
    with snapshot(con) as cur:
        meeting = load_meeting(cur, meeting_id)
        totals = query(cur, "vote_totals", {"meeting_id": meeting.id}).fetchall()
        participants = dict(query(cur, "vote_participants", {"meeting_id": meeting.id}).fetchall())
        counts = _facilitator_counts(cur, meeting.id)
    return tally(meeting, totals, participants, counts)


def tally(
    meeting: Meeting,
    totals: Sequence[tuple[str, str, int]],
    participants: Mapping[str, int],
    counts: Sequence[FacilitatorCount] = (),
) -> Results:
    """The results from the ballots' (role, key, points) sums and the facilitator counts (see the module
    docstring for the formula)."""
    keys = meeting.keys
    ballot_points = {role: dict.fromkeys(keys, 0) for role in ROLES}
    for role, key, pts in totals:
        if key in ballot_points[role]:
            ballot_points[role][key] += int(pts)
    counted = {role: dict.fromkeys(keys, 0) for role in ROLES}
    for entry in counts:
        for key, pts in entry.counts.items():
            if key in counted[entry.role]:
                counted[entry.role][key] += int(pts)
    points = {role: {k: ballot_points[role][k] + counted[role][k] for k in keys} for role in ROLES}
    total = {role: sum(points[role].values()) for role in ROLES}
    present = sum(meeting.weights[role] for role in ROLES if total[role] > 0)
    effective = {role: meeting.weights[role] / present if total[role] > 0 and present > 0 else 0.0
                 for role in ROLES}  # fmt: skip
    shares = {
        role: {k: points[role][k] / total[role] if total[role] else 0.0 for k in keys} for role in ROLES
    }
    groups = {
        role: GroupResult(
            role=role, weight=meeting.weights[role], effective_weight=effective[role],
            participants=int(participants.get(role, 0)), ballot_points=ballot_points[role],
            counted_points=counted[role], points=points[role], total=total[role], shares=shares[role],
        )
        for role in ROLES
    }  # fmt: skip
    combined = {k: sum(effective[role] * shares[role][k] for role in ROLES) for k in keys}
    all_points = {k: sum(points[role][k] for role in ROLES) for k in keys}
    order = sorted(meeting.candidates, key=lambda c: (-round(combined[c.key], 12), -all_points[c.key]))
    ranking = tuple(
        RankedCandidate(
            rank=1 + sum(round(combined[o.key], 12) > round(combined[c.key], 12) for o in order),
            candidate=c, combined=combined[c.key], points=all_points[c.key],
        )
        for c in order
    )  # fmt: skip
    return Results(meeting, groups, combined, ranking, tuple(counts))


# --- The public tally while voting runs ------------------------------------------------------------------


@dataclass(frozen=True)
class PublicTally:
    """What the public screen shows of a meeting's votes: `results` as of the last published tally (every
    figure in it, the number of ballots included, comes from that one moment), or the final results once
    the meeting is closed. `live` is False after closing."""

    results: Results
    ballots: int
    live: bool


def public_results(con: duckdb.DuckDBPyConnection, meeting_id: int, k: int) -> PublicTally:
    """The tally the public may see: while the meeting is open it changes only once at least `k` phones
    have a new or changed ballot since it last changed, so the difference between two tallies shown one
    after the other always mixes at least k phones' ballots and never tells one phone's vote (issue 13).

    The published tally is stored (meeting_tallies) and taken again here when due, in one serialised write;
    facilitator counts (shown in the room anyway) and the weights are always current. Before k phones have
    voted it holds no ballot. Closed meetings show their final results (staff views use `results`).
    """
    with snapshot(con) as cur:
        meeting = load_meeting(cur, meeting_id)
    if meeting.status == "closed":
        final = results(con, meeting_id)
        return PublicTally(final, final.ballots, live=False)
    if meeting.status == "open":
        _advance_tally(con, meeting.id, k)
    with snapshot(con) as cur:
        meeting = load_meeting(cur, meeting_id)
        stored = query(cur, "vote_tally_get", {"meeting_id": meeting.id}).fetchone()
        counts = _facilitator_counts(cur, meeting.id)
    totals: list[tuple[str, str, int]] = []
    participants: dict[str, int] = {}
    ballots = 0
    if stored is not None:
        ballots = int(stored[0])
        totals = [(str(r), str(key), int(p)) for r, key, p in json.loads(stored[2])]
        participants = {str(r): int(n) for r, n in json.loads(stored[3]).items()}
    return PublicTally(tally(meeting, totals, participants, counts), ballots, live=True)


def _facilitator_counts(cur: duckdb.DuckDBPyConnection, meeting_id: int) -> tuple[FacilitatorCount, ...]:
    return tuple(
        FacilitatorCount(cid, role, source, dict(zip(keys, pts, strict=True)), note, by, at)
        for cid, role, source, keys, pts, note, by, at in query(
            cur, "vote_counts", {"meeting_id": meeting_id}
        ).fetchall()
    )


def _advance_tally(con: duckdb.DuckDBPyConnection, meeting_id: int, k: int) -> bool:
    """Take the published tally again when at least k phones have a new or changed ballot since it was
    taken (checked again inside the write, so two screens cannot both take it); True when it did."""

    def pending(cur: duckdb.DuckDBPyConnection) -> tuple[int, list[str], int]:
        stored = query(cur, "vote_tally_get", {"meeting_id": meeting_id}).fetchone()
        seen = list(stored[1]) if stored is not None else []
        row = query(cur, "vote_tally_pending", {"meeting_id": meeting_id, "seen": seen}).fetchone()
        assert row is not None
        return int(row[0]), list(row[1]), int(row[2])

    with snapshot(con) as cur:
        changed, _, _ = pending(cur)
    if changed < k:
        return False
    with writing(con) as cur:
        changed, now_seen, ballots = pending(cur)
        if changed < k:
            return False
        totals = query(cur, "vote_totals", {"meeting_id": meeting_id}).fetchall()
        participants = dict(query(cur, "vote_participants", {"meeting_id": meeting_id}).fetchall())
        query(cur, "vote_tally_put", {
            "meeting_id": meeting_id, "now": utcnow(), "ballots": ballots, "seen": now_seen,
            "totals": json.dumps([[r, key, int(p)] for r, key, p in totals]),
            "participants": json.dumps({r: int(n) for r, n in participants.items()}),
        })  # fmt: skip
    return True
