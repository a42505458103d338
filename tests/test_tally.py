"""A tally that releases no single ballot (issue 13 item 3): the public tally moves only after k phones have a
new or changed ballot, so no phone's ballot can be read off the difference of two tallies shown in a row."""

from __future__ import annotations

import pytest

from koban_geo.community.meetings import close_meeting
from koban_geo.community.voting import cast_ballot, public_results, results
from tests.test_meetings import A, B, C, D, _meeting, _token


@pytest.fixture
def store(con):
    """The test store with the area the meetings of tests/test_meetings.py name."""
    con.execute(
        "INSERT INTO areas (code, name, geom, batch_id) VALUES ('T-1', 'Kamppi', "
        "ST_GeomFromText('POLYGON((24.92 60.16, 24.94 60.16, 24.94 60.175, 24.92 60.175, 24.92 60.16))'), 0)"
    )
    return con


K = 5
# the case: five ballots with 6, 3, 2, 1 dots on four items: 50 / 25 / 17 / 8 %
FIVE = [{A: 2, B: 1}, {A: 2, C: 1}, {A: 2, B: 1}, {B: 1, C: 1}, {D: 1}]
SIXTH = {C: 2, D: 1}


def _shown(con, meeting_id):
    """Everything the public screen shows: ballots, and per group phones and points per item."""
    tally = public_results(con, meeting_id, K)
    groups = {r: (g.participants, dict(g.points)) for r, g in tally.results.groups.items()}
    return tally.ballots, groups, [round(x.combined, 6) for x in tally.results.ranking]


def test_the_sixth_ballot_cannot_be_read_off(store):
    meeting = _meeting(store)
    assert _shown(store, meeting.id)[0] == 0
    for i, allocation in enumerate(FIVE[:4]):
        cast_ballot(store, meeting.code, _token(i), "resident", allocation)
        assert _shown(store, meeting.id)[0] == 0  # under k phones: nothing of them is shown
    cast_ballot(store, meeting.code, _token(4), "resident", FIVE[4])
    five = _shown(store, meeting.id)
    shares = {k: round(v, 2) for k, v in public_results(store, meeting.id, K).results.combined.items()}
    assert five[0] == 5 and shares == {A: 0.5, B: 0.25, C: 0.17, D: 0.08}  # the 50/25/17/8 %
    cast_ballot(store, meeting.code, _token(5), "resident", SIXTH)
    assert _shown(store, meeting.id) == five  # the sixth phone's ballot changes nothing on the screen
    assert results(store, meeting.id).ballots == 6  # staff see it at once
    for i in range(6, 9):
        cast_ballot(store, meeting.code, _token(i), "resident", {A: 1})
        assert _shown(store, meeting.id) == five  # 2, 3, 4 phones since: still the same
    cast_ballot(store, meeting.code, _token(9), "resident", {B: 1})
    ten = _shown(store, meeting.id)
    assert ten[0] == 10  # five phones since: the tally moves, with the five ballots mixed
    staff = results(store, meeting.id)
    assert ten[1]["resident"] == (10, dict(staff.groups["resident"].points))


def test_edits_move_the_tally_only_when_k_phones_changed(store):
    meeting = _meeting(store)
    for i, allocation in enumerate(FIVE):
        cast_ballot(store, meeting.code, _token(i), "resident", allocation)
    before = _shown(store, meeting.id)
    for _ in range(K + 2):  # one phone changing its ballot again and again: still one phone
        cast_ballot(store, meeting.code, _token(0), "resident", {D: 2})
        cast_ballot(store, meeting.code, _token(0), "resident", {C: 2})
    assert _shown(store, meeting.id) == before
    for i in range(1, K - 1):  # three more phones change theirs: four in all
        cast_ballot(store, meeting.code, _token(i), "resident", {D: 1})
    assert _shown(store, meeting.id) == before
    cast_ballot(store, meeting.code, _token(10), "resident", {A: 1})  # a new phone: the fifth
    after = _shown(store, meeting.id)
    assert after != before and after[0] == 6


@pytest.mark.parametrize("k", [3, 5])
def test_consecutive_public_tallies_always_differ_by_k_phones(store, k):
    """Replay a session of new and changed ballots, reading the screen after each: whenever what is shown
    changes, at least k phones have a new or changed ballot since the last change."""
    meeting = _meeting(store)
    script = [(i % 7, {A: 1 + i % 2} if i % 3 else {B: 1, C: 1}) for i in range(30)]
    shown, changed_since = _shown_k(store, meeting.id, k), set()
    for phone, allocation in script:
        cast_ballot(store, meeting.code, _token(phone), "resident", allocation)
        changed_since.add(phone)
        now = _shown_k(store, meeting.id, k)
        if now != shown:
            assert len(changed_since) >= k
            shown, changed_since = now, set()
    close_meeting(store, meeting.id, "officer.a")
    final = public_results(store, meeting.id, k)
    assert not final.live and final.ballots == results(store, meeting.id).ballots  # closed: the final results


def _shown_k(con, meeting_id, k):
    tally = public_results(con, meeting_id, k)
    return tally.ballots, {r: dict(g.points) for r, g in tally.results.groups.items()}
