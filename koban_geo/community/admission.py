"""Who may vote from a phone in a meeting, and as which group: ballot slips, group codes, the headcount.

Three safeguards, each for its own risk (the phone page, dashboard/web/phone.py, is where they meet a phone):

- **Cookie mode** (the default): a phone is known by a random device cookie, so a rescan, a reload or a new
  tab edits the same ballot. A private window or a second browser starts a new cookie, so a determined
  person can cast several ballots; the headcount beside the ballot count shows when that happened.
- **Slip mode** (`issue_slips`): strict one-person-one-vote. Staff hand out single-use codes (8 characters,
  stored only as SHA-256); a phone's first ballot must carry an unused slip, which is then bound to that
  phone (later edits need none). A new cookie without a new slip cannot vote.
- **Group codes** (`group_codes`): a phone votes as a resident unless it enters the officers' or the
  partners' code of that meeting, which staff see on the meetings page and give out in the room. No phone
  can choose a group by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral

import duckdb

from koban_geo.community.meetings import ALPHABET, MeetingError, load_meeting, snapshot, utcnow
from koban_geo.store.sql import audit, query, writing

__all__ = [
    "GROUP_ROLES",
    "MAX_HEADCOUNT",
    "MAX_SLIPS",
    "SLIP_LENGTH",
    "PhoneRules",
    "group_codes",
    "issue_slips",
    "normalise_slip",
    "phone_rules",
    "role_for_code",
    "set_headcount",
    "slip_hash",
]

SLIP_LENGTH = 8  # 32^8 ~ 10^12 codes: guessing one of a few hundred issued slips is hopeless
GROUP_ROLES = ("officer", "partner")  # residents need no code
MAX_SLIPS = 2000  # per call: a hall, not a city
MAX_HEADCOUNT = 100_000

_SEPARATORS = re.compile(r"[\s-]+")


@dataclass(frozen=True)
class PhoneRules:
    """A meeting's phone rules and slip counts (what the meetings page shows beside the ballots)."""

    slips_required: bool
    headcount: int | None
    slips_issued: int
    slips_redeemed: int


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(SLIP_LENGTH))


def normalise_slip(text: object) -> str | None:
    """A typed slip or group code in canonical form (upper case, spaces and dashes dropped), or None."""
    if not isinstance(text, str):
        return None
    clean = _SEPARATORS.sub("", text).upper()
    if len(clean) != SLIP_LENGTH or any(ch not in ALPHABET for ch in clean):
        return None
    return clean


def slip_hash(meeting_id: int, slip: str) -> str:
    """What the store keeps of a slip: per meeting, so a slip is worth nothing in another meeting."""
    return hashlib.sha256(f"{int(meeting_id)}:{slip}".encode()).hexdigest()


def phone_rules(con: duckdb.DuckDBPyConnection, meeting_id: int) -> PhoneRules:
    """Slip mode, headcount and slip counts of a meeting (defaults when staff set nothing)."""
    with snapshot(con) as cur:
        row = query(cur, "phone_rules_get", {"meeting_id": int(meeting_id)}).fetchone()
    assert row is not None  # the query always returns one row
    required, headcount, issued, redeemed = row
    return PhoneRules(bool(required), headcount, int(issued), int(redeemed))


def issue_slips(con: duckdb.DuckDBPyConnection, meeting_id: int, count: int, actor: str) -> list[str]:
    """`count` new single-use ballot slips; puts the meeting in slip mode. Returns the slips (shown once:
    only their hashes are stored). Slip mode starts before voting opens, so no ballot was cast without a
    slip; more slips can be issued while it is open (latecomers)."""
    if not isinstance(count, Integral) or isinstance(count, bool) or not 1 <= int(count) <= MAX_SLIPS:
        raise MeetingError(f"Issue from 1 to {MAX_SLIPS} slips at a time.")
    with writing(con) as cur:
        meeting = load_meeting(cur, meeting_id)
        rules = query(cur, "phone_rules_get", {"meeting_id": meeting.id}).fetchone()
        required = bool(rules[0]) if rules else False
        if meeting.status == "closed":
            raise MeetingError("The meeting is closed; it needs no more ballot slips.")
        if meeting.status == "open" and not required:
            raise MeetingError(
                "Voting is open without slips; ballot slips must be issued before voting opens."
            )
        slips: set[str] = set()
        while len(slips) < int(count):
            slips.add(_new_code())
        ordered = sorted(slips)
        query(cur, "phone_rules_set", {"meeting_id": meeting.id, "slips_required": True, "headcount": None})
        query(cur, "phone_slips_insert", {
            "meeting_id": meeting.id, "hashes": [slip_hash(meeting.id, s) for s in ordered], "now": utcnow(),
        })  # fmt: skip
        audit(cur, actor, "meeting.slips", f"meeting {meeting.id}: {len(ordered)} ballot slips issued")
    return ordered


def group_codes(con: duckdb.DuckDBPyConnection, meeting_id: int, actor: str) -> Mapping[str, str]:
    """The officers' and partners' codes of a meeting (role -> code), made on first asking."""
    with snapshot(con) as cur:
        found = dict(query(cur, "phone_group_codes", {"meeting_id": int(meeting_id)}).fetchall())
    if all(role in found for role in GROUP_ROLES):
        return {role: found[role] for role in GROUP_ROLES}
    with writing(con) as cur:
        meeting = load_meeting(cur, meeting_id)
        for role in GROUP_ROLES:
            query(
                cur, "phone_group_codes_insert", {"meeting_id": meeting.id, "role": role, "code": _new_code()}
            )
        found = dict(query(cur, "phone_group_codes", {"meeting_id": meeting.id}).fetchall())
        audit(cur, actor, "meeting.group_codes", f"meeting {meeting.id}: group codes made")
    return {role: found[role] for role in GROUP_ROLES}


def role_for_code(con: duckdb.DuckDBPyConnection, meeting_id: int, typed: object) -> str | None:
    """The group (officer, partner) a typed code of this meeting stands for, or None when it is none."""
    clean = normalise_slip(typed)
    if clean is None:
        return None
    with snapshot(con) as cur:
        found = query(cur, "phone_group_codes", {"meeting_id": int(meeting_id)}).fetchall()
    for role, code in found:
        if hmac.compare_digest(code.encode(), clean.encode()):
            return str(role)
    return None


def set_headcount(
    con: duckdb.DuckDBPyConnection, meeting_id: int, headcount: int | None, actor: str
) -> PhoneRules:
    """Store the people in the room as the facilitator counted them (None clears it)."""
    if headcount is not None and (
        not isinstance(headcount, Integral)
        or isinstance(headcount, bool)
        or not 0 <= headcount <= MAX_HEADCOUNT
    ):
        raise MeetingError(f"The headcount is a whole number from 0 to {MAX_HEADCOUNT}.")
    with writing(con) as cur:
        meeting = load_meeting(cur, meeting_id)
        value = -1 if headcount is None else int(headcount)
        query(cur, "phone_rules_set", {"meeting_id": meeting.id, "slips_required": None, "headcount": value})
        audit(cur, actor, "meeting.headcount", f"meeting {meeting.id}: headcount {headcount}")
    return phone_rules(con, meeting_id)
