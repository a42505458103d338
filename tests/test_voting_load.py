"""Voting under load, the way the server runs it: ONE read-write connection shared by many threads.

60 phones change their ballots 20 times each, all at once, while the meeting screen re-reads the results in a
loop. Nothing may be lost or counted twice: the end result must be exactly what each phone's last ballot
says. No wall-clock limit here (timings are bench/voting.py's job). A second process must be told clearly
that the store is in use.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from koban_geo.community.meetings import (
    ROLES,
    Rules,
    create_meeting,
    custom_candidate,
    open_meeting,
    theme_candidate,
)
from koban_geo.community.voting import cast_ballot, results

VOTERS = 60
CHANGES = 20
SEED = 20261124
THEMES = ("noise", "asb", "litter", "traffic", "parking", "vandalism")


def _add_area(con) -> None:
    con.execute(
        "INSERT INTO areas (code, name, geom, batch_id) VALUES "
        "('LOAD-1', 'Load test area', ST_GeomFromText('POLYGON((24.92 60.16, 24.96 60.16, 24.96 60.175, "
        "24.92 60.175, 24.92 60.16))'), 0)"
    )


def _random_dots(rng: random.Random, keys: list[str], budget: int, cap: int) -> dict[str, int]:
    allocation: dict[str, int] = {}
    for _ in range(rng.randint(1, budget)):
        key = rng.choice([k for k in keys if allocation.get(k, 0) < cap])
        allocation[key] = allocation.get(key, 0) + 1
    return allocation


def _random_ranking(rng: random.Random, keys: list[str]) -> list[str]:
    return rng.sample(keys, rng.randint(1, len(keys)))


def _expected(last: dict[int, tuple[str, dict[str, int]]], keys: list[str]):
    """Group points, participants and combined scores recomputed in plain Python from the last ballots."""
    points = {role: dict.fromkeys(keys, 0) for role in ROLES}
    participants = Counter()
    for role, ballot in last.values():
        participants[role] += 1
        for key, pts in ballot.items():
            points[role][key] += pts
    totals = {role: sum(points[role].values()) for role in ROLES}
    voted = [role for role in ROLES if totals[role]]
    combined = {
        key: sum(points[role][key] / totals[role] for role in voted) / len(voted) for key in keys
    }  # equal weights
    return points, participants, combined


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dots", "ranking"])
def test_concurrent_ballot_changes_lose_nothing(con, method):
    _add_area(con)
    items = [theme_candidate(t) for t in THEMES] + [custom_candidate("Speeding on the ring road")]
    rules = Rules(method) if method == "ranking" else Rules()
    meeting = create_meeting(
        con, title="Load", date=date(2026, 12, 1), areas=["LOAD-1"],
        candidates=items, rules=rules, actor="test",
    )  # fmt: skip
    meeting = open_meeting(con, meeting.id, "test")
    keys = list(meeting.keys)
    n = len(keys)

    last: dict[int, tuple[str, dict[str, int]]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(VOTERS + 1)
    voters_done = threading.Event()
    reads = 0

    def voter(i: int) -> None:
        rng = random.Random(SEED * 1000 + i)
        role = ROLES[i % 3]
        token = f"phone-{i:04d}-{rng.getrandbits(64):016x}"
        try:
            start.wait()
            for _ in range(CHANGES):
                if rng.random() < 0.1:  # a phone may also change the group it votes in
                    role = rng.choice(ROLES)
                if method == "dots":
                    allocation = _random_dots(rng, keys, 3, 2)
                    cast_ballot(con, meeting.code, token, role, allocation)
                    last[i] = (role, allocation)
                else:
                    order = _random_ranking(rng, keys)
                    cast_ballot(con, meeting.code, token, role, ranking=order)
                    last[i] = (role, {key: n - pos for pos, key in enumerate(order)})
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def screen() -> None:
        nonlocal reads
        try:
            start.wait()
            while not voters_done.is_set():
                res = results(con, meeting.id)
                assert res.ballots <= VOTERS
                for group in res.groups.values():
                    assert group.total == sum(group.points.values())
                    if method == "dots":
                        assert group.total <= 3 * group.participants
                reads += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=voter, args=(i,)) for i in range(VOTERS)]
    reader = threading.Thread(target=screen)
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join()
    voters_done.set()
    reader.join()

    assert errors == []
    assert reads > 0
    assert len(last) == VOTERS
    rows = con.execute(
        "SELECT count(*), sum(revision), min(revision) FROM ballots WHERE meeting_id = ?", [meeting.id]
    ).fetchone()
    assert rows == (VOTERS, VOTERS * CHANGES, CHANGES)  # one row per phone; every change applied once

    points, participants, combined = _expected(last, keys)
    res = results(con, meeting.id)
    for role in ROLES:
        assert dict(res.groups[role].points) == points[role]
        assert res.groups[role].participants == participants[role]
    assert res.combined == pytest.approx(combined, rel=1e-12, abs=1e-15)
    assert sum(res.combined.values()) == pytest.approx(1.0)


def test_second_process_is_told_the_store_is_in_use(con, settings, tmp_path):
    """While this process holds the store read-write (as the server does), another one gets StoreError."""
    script = textwrap.dedent(
        """
        import sys
        from koban_geo.store.db import StoreError, connect
        try:
            connect(sys.argv[1])
        except StoreError as exc:
            print(exc)
            sys.exit(3)
        print("opened")
        """
    )
    assert con.execute("SELECT 1").fetchone() == (1,)  # the first process holds the store
    proc = subprocess.run(
        [sys.executable, "-c", script, str(settings.db)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "is open in another process" in proc.stdout
    assert str(settings.db) in proc.stdout
