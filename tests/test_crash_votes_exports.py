"""Crash safety of votes and exports: a process SIGKILLed in the middle of casting ballots or writing an
export leaves the store consistent, and running it again completes the work (issue: reliability).

The vote writer is a real child process doing what the server does for each phone (koban_geo.community.voting.
cast_ballot, one transaction per ballot); the export is the real `koban-geo export` command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from koban_geo.community.meetings import Rules, create_meeting, custom_candidate, open_meeting
from koban_geo.community.voting import results
from koban_geo.ingest import ingest_file
from koban_geo.store.db import connect
from tests.helpers import write_areas, write_text
from tests.test_crash import _env, kill_at, koban

PHONES, CHANGES = 20, 10
ITEMS = ("custom:1", "custom:2", "custom:3")

VOTER = """
import sys
from koban_geo.store.db import connect
from koban_geo.community.voting import cast_ballot
db, code, progress = sys.argv[1], sys.argv[2], sys.argv[3]
items = ("custom:1", "custom:2", "custom:3")
con = connect(db)
with open(progress, "a", encoding="utf-8") as out:
    for change in range(CHANGES):
        for phone in range(PHONES):
            first, second = items[(phone + change) % 3], items[(phone + 2 * change + 1) % 3]
            allocation = {first: 2} if first == second else {first: 2, second: 1}
            cast_ballot(con, code, f"crash-phone-{phone:04d}-token", "resident", allocation)
            out.write(f"{phone} {change}\\n")
            out.flush()
""".replace("CHANGES", str(CHANGES)).replace("PHONES", str(PHONES))


def _last_allocation(phone: int) -> dict[str, int]:
    change = CHANGES - 1
    first, second = ITEMS[(phone + change) % 3], ITEMS[(phone + 2 * change + 1) % 3]
    return {first: 2} if first == second else {first: 2, second: 1}


@pytest.fixture
def meeting_store(settings, tmp_path):
    con = connect(settings.db)
    ingest_file(con, settings, write_areas(tmp_path / "a.geojson"), kind="areas")
    meeting = create_meeting(
        con, title="Crash test", date=date(2026, 12, 1), areas=["HEL-W"], actor="test",
        candidates=[custom_candidate(f"Item {i}", key=key) for i, key in enumerate(ITEMS, 1)], rules=Rules(),
    )  # fmt: skip
    open_meeting(con, meeting.id, "test")
    con.close()
    return settings.db, meeting


def _revisions(db: Path, meeting_id: int) -> dict[str, int]:
    con = connect(db)
    try:
        rows = con.execute(
            "SELECT device_sha256, revision, keys, points FROM ballots WHERE meeting_id = ?", [meeting_id]
        ).fetchall()
        for _device, revision, keys, points in rows:  # every stored ballot is whole and valid
            assert len(keys) == len(points) and 1 <= sum(points) <= 3 and max(points) <= 2
            assert revision >= 1
        results(con, meeting_id)  # the tally reads without error
    finally:
        con.close()
    return {device: revision for device, revision, _k, _p in rows}


@pytest.mark.parametrize("after_ballots", (1, 37, 150))
def test_votes_killed_midway_are_whole_and_a_rerun_completes_them(meeting_store, tmp_path, after_ballots):
    db, meeting = meeting_store
    progress = tmp_path / "progress.txt"
    progress.touch()
    cmd = [sys.executable, "-c", VOTER, str(db), meeting.code, str(progress)]

    def cast_enough() -> bool:
        return len(progress.read_text(encoding="utf-8").splitlines()) >= after_ballots

    outcome = kill_at(cmd, until=cast_enough, cwd=tmp_path, timeout=180)
    assert outcome.killed, outcome.stderr
    reported = len(progress.read_text(encoding="utf-8").splitlines())
    before = _revisions(db, meeting.id)
    stored = sum(before.values())
    # Every ballot the child saw committed is stored, plus at most the one in flight when it died.
    assert reported <= stored <= reported + 1

    done = subprocess.run(cmd, env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    after = _revisions(db, meeting.id)
    assert len(after) == PHONES
    assert all(after[device] == before.get(device, 0) + CHANGES for device in after)  # none lost, none twice
    con = connect(db)
    try:
        outcome_after = results(con, meeting.id)
    finally:
        con.close()
    expected: dict[str, int] = {}
    for phone in range(PHONES):
        for key, dots in _last_allocation(phone).items():
            expected[key] = expected.get(key, 0) + dots
    assert dict(outcome_after.groups["resident"].points) == {k: v for k, v in expected.items() if v}


@pytest.fixture
def export_store(settings, tmp_path):
    con = connect(settings.db)
    ingest_file(con, settings, write_areas(tmp_path / "a.geojson"), kind="areas")
    rows = "".join(f"{i},2025-03-0{1 + i % 9},60.1{65 + i % 8},24.9{30 + i % 20},noise\n" for i in range(400))
    ingest_file(con, settings, write_text(tmp_path / "c.csv", "id,date,lat,lon,theme\n" + rows))
    con.close()
    return settings.db


@pytest.mark.parametrize("moment", ("staging", "late"))
def test_an_export_killed_midway_leaves_no_half_file_and_reruns(export_store, tmp_path, moment):
    db = export_store
    out = tmp_path / "areas.geojson"
    staging = out.with_name(f".{out.name}.partial")
    cmd = [*koban(db), "export", "--what", "areas", "--audience", "public", "--out", str(out), "--actor", "t"]
    if moment == "staging":
        outcome = kill_at(cmd, until=staging.exists, cwd=tmp_path)
    else:
        outcome = kill_at(
            cmd, until=lambda: any(staging.glob("*")) if staging.exists() else False, cwd=tmp_path
        )
    con = connect(db)
    try:
        audits = con.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0]
    finally:
        con.close()
    if out.exists():  # the kill came after the rename: the file is whole and audited
        json.loads(out.read_text(encoding="utf-8"))
        assert audits == 1
    else:
        assert audits in (0, 1) and outcome.killed
    again = subprocess.run(cmd, env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and doc["features"]
    assert not staging.exists()
