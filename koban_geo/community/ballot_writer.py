"""Writing phones' ballots with group commit (used by koban_geo.community.voting.cast_ballot).

Every write of the process is serialised (koban_geo.store.sql.writing) and each COMMIT flushes the WAL, so one
ballot per transaction caps a "vote now" moment at one flush per phone. Here, while one transaction commits,
the ballots that arrive wait and then go together in the next one: one COMMIT for many phones, the way
databases do group commit. Each ballot is still its own upsert (vote_cast) with its own answer; a ballot
slip that is missing or used refuses only its own ballot (koban_geo.community.admission: nothing was changed);
any other error rolls the group back and every ballot in it hears so.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from koban_geo.community.admission import normalise_slip, slip_hash
from koban_geo.community.meetings import utcnow
from koban_geo.store.sql import query, writing

__all__ = ["GROUP_COMMIT", "GroupCommit", "Pending", "Refused"]


@dataclass(frozen=True)
class Refused:
    """A ballot the meeting's rules keep out (VoteError's reason and message)."""

    reason: str
    message: str


@dataclass
class Pending:
    """A checked ballot waiting for the writer; `result` becomes the vote_cast row (revision, cast_at, role),
    None when the meeting is not open, a Refused, or the exception that rolled the group back."""

    con: duckdb.DuckDBPyConnection
    meeting_id: int
    device: str  # voting.device_hash of the phone
    role: str | None
    points: Mapping[str, int]
    slip: str | None
    result: Any = None
    done: bool = False


class GroupCommit:
    """The process's ballot writer: ballots of the same connection queued while a group is written."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[Pending] = []
        self._busy = False

    def write(self, entry: Pending) -> Any:
        """Store `entry` (in this thread or in the group another thread writes) and return its result."""
        batch: list[Pending] = []
        with self._cond:
            self._queue.append(entry)
            while not entry.done and self._busy:
                self._cond.wait()
            if not entry.done:  # nobody is writing: this thread writes all that is queued for its connection
                batch = [e for e in self._queue if e.con is entry.con]
                self._queue = [e for e in self._queue if e.con is not entry.con]
                self._busy = True
        if batch:
            try:
                _write_group(entry.con, batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if isinstance(entry.result, BaseException):
            raise entry.result
        return entry.result


def _refusal(cur: duckdb.DuckDBPyConnection, entry: Pending) -> Refused | None:
    """In slip mode, let a phone in only with a slip it redeemed before or an unused one it redeems now."""
    required, has_slip = query(cur, "vote_slip_state", {
        "meeting_id": entry.meeting_id, "device_sha256": entry.device,
    }).fetchone()  # fmt: skip
    if not required or has_slip:
        return None
    if not entry.slip:
        return Refused("slip_needed", "This meeting votes with ballot slips: enter the code on your slip.")
    clean = normalise_slip(entry.slip)
    redeemed = clean is not None and query(cur, "vote_slip_redeem", {
        "meeting_id": entry.meeting_id, "slip_sha256": slip_hash(entry.meeting_id, clean),
        "device_sha256": entry.device, "now": utcnow(),
    }).fetchone()  # fmt: skip
    return (
        None if redeemed else Refused("slip_invalid", "This slip code is not valid or has already been used.")
    )


def _write_group(con: duckdb.DuckDBPyConnection, batch: list[Pending]) -> None:
    try:
        with writing(con, macros=False) as cur:  # the ballot queries use no macros
            now = utcnow()
            for entry in batch:
                refused = _refusal(cur, entry)
                entry.result = refused or query(cur, "vote_cast", {
                    "meeting_id": entry.meeting_id, "device_sha256": entry.device, "role": entry.role,
                    "keys": list(entry.points), "points": list(entry.points.values()), "now": now,
                }).fetchone()  # fmt: skip
    except BaseException as exc:  # rolled back: no ballot of the group is stored
        for entry in batch:
            entry.result = exc
    for entry in batch:
        entry.done = True


GROUP_COMMIT = GroupCommit()
