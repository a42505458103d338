"""Writing phones' ballots with group commit (used by koban_geo.community.voting.submit_ballot).

Every write of the process is serialised (koban_geo.store.sql.writing) and each COMMIT flushes the WAL, so one
ballot per transaction caps a "vote now" moment at one flush per phone. Here one writer thread takes every
ballot waiting in its queue and writes them in ONE transaction: one COMMIT for many phones, the way
databases do group commit. The group's ballots go in one upsert statement (vote_cast_many: one upsert per
ballot costs ~6 ms of DuckDB CPU, one statement for 150 ballots ~10 ms); each ballot still gets its own answer
(its row, or none when its meeting closed meanwhile), and a phone hears "stored" only after the transaction
that holds its ballot has committed. A phone's second ballot in the same group goes in a second statement,
after its first, so its revision counts both.

- A ballot slip that is missing or used refuses only its own ballot (nothing was changed for it).
- Any other error rolls the whole group back; then each ballot of the group is written again in a
  transaction of its own, so one bad ballot fails alone and no good one is lost. Nothing of the failed
  group was stored, so a ballot written again is never counted twice.
- Callers wait on a Future: a thread blocks on `write`, the phone page's event loop awaits `submit`'s
  Future without holding a thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import duckdb

from koban_geo.community.admission import normalise_slip, slip_hash
from koban_geo.community.meetings import utcnow
from koban_geo.store.sql import query, writing

__all__ = ["GROUP_COMMIT", "GroupCommit", "Pending", "Refused"]

_LOG = logging.getLogger(__name__)
MAX_GROUP = 500  # ballots in one transaction at most (a hall's worth; the rest go in the next one)


@dataclass(frozen=True)
class Refused:
    """A ballot the meeting's rules keep out (VoteError's reason and message)."""

    reason: str
    message: str


@dataclass
class Pending:
    """A checked ballot waiting for the writer. Its `future` becomes the stored row (revision, cast_at,
    role), None when the meeting is not open, a Refused, or fails with the error that kept it out."""

    con: duckdb.DuckDBPyConnection
    meeting_id: int
    device: str  # voting.device_hash of the phone
    role: str | None
    points: Mapping[str, int]
    slip: str | None
    future: Future[Any] = field(default_factory=Future)


class GroupCommit:
    """The process's ballot writer: one thread, started at the first ballot, writing queued ballots in groups.

    `autostart=False` leaves the thread unstarted: `write_queued` then writes what is queued in the caller's
    thread (tests use it to make one known group)."""

    def __init__(self, *, autostart: bool = True) -> None:
        self._cond = threading.Condition()
        self._queue: list[Pending] = []
        self._autostart = autostart
        self._thread: threading.Thread | None = None
        self.groups = 0  # transactions written (groups), for benchmarks and tests

    def submit(self, entry: Pending) -> Future[Any]:
        """Queue `entry` for the next group; its Future is done once that group has committed (or failed)."""
        with self._cond:
            self._queue.append(entry)
            if self._autostart and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="koban-ballot-writer", daemon=True)
                self._thread.start()
            self._cond.notify()
        return entry.future

    def write(self, entry: Pending) -> Any:
        """Store `entry` and return its result (blocks until its group has committed)."""
        return self.submit(entry).result()

    def write_queued(self) -> int:
        """Write everything queued now, one group per connection; returns the number of ballots written."""
        with self._cond:
            batch, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
        self._write(batch)
        return len(batch)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
            try:
                self.write_queued()
            except BaseException:  # noqa: BLE001 - the writer must outlive any one group
                _LOG.exception("ballot writer: a group failed outside its transaction")

    def _write(self, batch: list[Pending]) -> None:
        by_con: dict[int, list[Pending]] = {}
        for entry in batch:
            by_con.setdefault(id(entry.con), []).append(entry)
        for group in by_con.values():
            self.groups += 1
            try:
                results = _write_group(group[0].con, group)
            except Exception as exc:  # rolled back: nothing of the group is stored
                if len(group) == 1:
                    _settle(group[0], exc)
                    continue
                _LOG.warning("ballot group of %d rolled back (%s); writing each alone", len(group), exc)
                for entry in group:
                    self.groups += 1
                    try:
                        _settle(entry, _write_group(entry.con, [entry])[0])
                    except Exception as one:  # noqa: BLE001 - this ballot alone is refused
                        _settle(entry, one)
                continue
            for entry, result in zip(group, results, strict=True):
                _settle(entry, result)


def _settle(entry: Pending, result: Any) -> None:
    if entry.future.done():
        return
    if isinstance(result, BaseException):
        entry.future.set_exception(result)
    else:
        entry.future.set_result(result)


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


def _write_group(con: duckdb.DuckDBPyConnection, batch: list[Pending]) -> list[Any]:
    """Each ballot's result, all in one transaction (raises, rolled back, if any statement fails)."""
    results: list[Any] = [None] * len(batch)
    with writing(con, macros=False) as cur:  # the ballot queries use no macros
        slip_mode: dict[int, bool] = {}  # per meeting, read once per group (set before voting opens)
        rounds: list[dict[tuple[int, str], int]] = []  # (meeting, device) -> index in batch, once per round
        for i, entry in enumerate(batch):
            if entry.meeting_id not in slip_mode:
                row = query(cur, "vote_slips_required", {"meeting_id": entry.meeting_id}).fetchone()
                slip_mode[entry.meeting_id] = bool(row[0])
            refused = _refusal(cur, entry) if slip_mode[entry.meeting_id] else None
            if refused is not None:
                results[i] = refused
                continue
            key = (entry.meeting_id, entry.device)
            free = next((r for r in rounds if key not in r), None)
            if free is None:
                free = {}
                rounds.append(free)
            free[key] = i
        now = utcnow()
        for found in rounds:
            for keep_role in (False, True):
                chosen = [i for i in found.values() if (batch[i].role is None) == keep_role]
                if not chosen:
                    continue
                stored = query(cur, "vote_cast_many", {
                    "meeting_ids": [batch[i].meeting_id for i in chosen],
                    "devices": [batch[i].device for i in chosen],
                    "roles": [batch[i].role or "resident" for i in chosen],
                    "keys": [list(batch[i].points) for i in chosen],
                    "points": [list(batch[i].points.values()) for i in chosen],
                    "keep_role": keep_role, "now": now,
                }).fetchall()  # fmt: skip
                for meeting_id, device, revision, cast_at, role in stored:
                    results[found[(meeting_id, device)]] = (revision, cast_at, role)
    return results


GROUP_COMMIT = GroupCommit()
