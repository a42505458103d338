"""Group commit of phones' ballots (koban_geo.community.ballot_writer) on a real store: a group is one
transaction; a bad ballot in a group fails alone and no good one is lost or counted twice; through the phone
page, concurrent ballots with one refused are each answered and counted exactly once."""

from __future__ import annotations

import re
import threading
from datetime import date

import duckdb
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from koban_geo.community.admission import issue_slips
from koban_geo.community.ballot_writer import GroupCommit, Pending, Refused
from koban_geo.community.meetings import close_meeting, create_meeting, open_meeting, theme_candidate
from koban_geo.community.voting import device_hash, results
from ui.i18n import translate
from web import middleware
from web.phone import phone_routes

ITEMS = ("noise", "asb", "litter")


@pytest.fixture
def store(con):
    con.execute(
        "INSERT INTO areas (code, name, geom, batch_id) VALUES ('G-1', 'Kallio', "
        "ST_GeomFromText('POLYGON((24.92 60.16, 24.94 60.16, 24.94 60.175, 24.92 60.175, 24.92 60.16))'), 0)"
    )
    return con


def _open(con, slips: int = 0):
    m = create_meeting(con, title="Kallio", date=date(2026, 12, 1), areas=["G-1"], actor="officer.a",
                       candidates=[theme_candidate(t) for t in ITEMS])  # fmt: skip
    issued = issue_slips(con, m.id, slips, "officer.a") if slips else []
    return open_meeting(con, m.id, "officer.a"), issued


def _ballot(con, meeting_id: int, phone: str, dots: dict[str, int], role: str | None = None, slip=None):
    return Pending(con, meeting_id, device_hash(meeting_id, phone * 16), role, dots, slip)


def test_a_group_is_one_transaction_and_a_phones_second_ballot_in_it_replaces_the_first(store):
    m, _ = _open(store)
    writer = GroupCommit(autostart=False)
    entries = [
        _ballot(store, m.id, "a", {"theme:noise": 2}),
        _ballot(store, m.id, "b", {"theme:asb": 1}, role="officer"),
        _ballot(store, m.id, "a", {"theme:litter": 1}),  # the same phone again, before the first is stored
        _ballot(store, m.id, "c", {"theme:asb": 2}),
    ]
    futures = [writer.submit(e) for e in entries]
    assert writer.write_queued() == 4 and writer.groups == 1  # one transaction for all four
    revisions = [f.result()[0] for f in futures]
    assert revisions == [1, 1, 2, 1]
    assert [f.result()[2] for f in futures] == ["resident", "officer", "resident", "resident"]
    outcome = results(store, m.id)
    assert outcome.ballots == 3
    assert dict(outcome.groups["resident"].ballot_points) == {
        "theme:noise": 0,
        "theme:asb": 2,
        "theme:litter": 1,
    }
    assert dict(outcome.groups["officer"].ballot_points) == {
        "theme:noise": 0,
        "theme:asb": 1,
        "theme:litter": 0,
    }


def test_a_bad_ballot_fails_alone_and_no_good_one_is_lost_or_counted_twice(store):
    m, _ = _open(store)
    writer = GroupCommit(autostart=False)
    entries = [
        _ballot(store, m.id, "a", {"theme:noise": 1}),
        _ballot(store, m.id, "b", {"theme:asb": 1}),
        _ballot(store, m.id, "x", {"theme:asb": 1}, role="mayor"),  # the store's CHECK refuses it
        _ballot(store, m.id, "a", {"theme:noise": 2}),
        _ballot(store, m.id, "c", {"theme:litter": 1}, role="partner"),
    ]
    futures = [writer.submit(e) for e in entries]
    writer.write_queued()
    with pytest.raises(duckdb.ConstraintException):
        futures[2].result()
    assert [futures[i].result()[0] for i in (0, 1, 3, 4)] == [1, 1, 2, 1]  # the group ran again, one by one
    assert writer.groups == 1 + len(entries)
    rows = store.execute(
        "SELECT role, revision, keys, points FROM ballots WHERE meeting_id = ? ORDER BY role, revision",
        [m.id],
    ).fetchall()
    assert rows == [
        ("partner", 1, ["theme:litter"], [1]),
        ("resident", 1, ["theme:asb"], [1]),
        ("resident", 2, ["theme:noise"], [2]),
    ]


def test_a_refused_slip_or_a_closed_meeting_refuses_only_its_own_ballot(store):
    m, slips = _open(store, slips=2)
    other, _ = _open(store)
    writer = GroupCommit(autostart=False)
    entries = [
        _ballot(store, m.id, "a", {"theme:noise": 1}, slip=slips[0]),
        _ballot(store, m.id, "b", {"theme:noise": 1}, slip=slips[0]),  # the same slip: already used
        _ballot(store, m.id, "c", {"theme:noise": 1}),  # no slip
        _ballot(store, other.id, "a", {"theme:asb": 1}),
    ]
    close_meeting(store, other.id, "officer.a")  # closed after the ballot was checked
    futures = [writer.submit(e) for e in entries]
    writer.write_queued()
    assert writer.groups == 1
    assert futures[0].result()[0] == 1
    assert futures[1].result() == Refused(
        "slip_invalid", "This slip code is not valid or has already been used."
    )
    assert isinstance(futures[2].result(), Refused) and futures[2].result().reason == "slip_needed"
    assert futures[3].result() is None  # not stored: the phone hears "voting has closed"
    assert results(store, m.id).ballots == 1 and results(store, other.id).ballots == 0


def test_concurrent_phones_with_one_used_slip_each_hear_their_answer_and_count_once(store):
    phones = 8
    m, slips = _open(store, slips=phones)
    app = Starlette(routes=phone_routes(connect=lambda: store), middleware=middleware())
    clients = [TestClient(app, follow_redirects=False) for _ in range(phones)]
    pages = [c.get("/vote", params={"meeting": m.code}) for c in clients]
    csrf = [re.search(r'name="csrf" value="([0-9a-f]+)"', p.text).group(1) for p in pages]
    used = [slips[i] for i in range(phones - 1)] + [slips[0]]  # the last phone types the first phone's slip
    together = threading.Barrier(phones)
    answers: list = [None] * phones

    def phone(i: int) -> None:
        together.wait()
        form = {"csrf": csrf[i], "d0": "1", "d1": str(i % 2), "slip": used[i]}
        answers[i] = clients[i].post(f"/vote?meeting={m.code}&lang=en", data=form)

    threads = [threading.Thread(target=phone, args=(i,)) for i in range(phones)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [303] * (phones - 1) + [400]
    refused = next(a for a in answers if a.status_code == 400)
    assert translate("This slip code is not valid or has already been used.", "en") in refused.text
    outcome = results(store, m.id)
    assert outcome.ballots == phones - 1
    ones = sum(1 for a in answers if a.status_code == 303 and answers.index(a) % 2 == 1)
    assert dict(outcome.groups["resident"].ballot_points) == {
        "theme:noise": phones - 1, "theme:asb": ones, "theme:litter": 0,
    }  # fmt: skip
    assert store.execute("SELECT max(revision) FROM ballots WHERE meeting_id = ?", [m.id]).fetchone() == (1,)
