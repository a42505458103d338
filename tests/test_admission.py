"""Ballot slips, group codes and the headcount on a real store (koban_geo.community.admission), and the
`koban-geo meetings slips|groups|headcount` commands."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from click.testing import CliRunner

from koban_geo.cli.main import cli
from koban_geo.community.admission import (
    SLIP_LENGTH,
    group_codes,
    issue_slips,
    normalise_slip,
    phone_rules,
    role_for_code,
    set_headcount,
)
from koban_geo.community.meetings import (
    ALPHABET,
    MeetingError,
    close_meeting,
    create_meeting,
    open_meeting,
    theme_candidate,
)
from koban_geo.community.voting import VoteError, cast_ballot, results

A, B = "theme:noise", "theme:asb"


@pytest.fixture
def store(con):
    con.execute(
        "INSERT INTO areas (code, name, geom, batch_id) VALUES ('T-1', 'Kamppi', "
        "ST_GeomFromText('POLYGON((24.92 60.16, 24.94 60.16, 24.94 60.175, 24.92 60.175, 24.92 60.16))'), 0)"
    )
    return con


def _draft(con):
    return create_meeting(con, title="Slips", date=date(2026, 12, 1), areas=["T-1"], actor="officer.a",
                          candidates=[theme_candidate("noise"), theme_candidate("asb")])  # fmt: skip


def _phone(n: int) -> str:
    return f"admission-phone-{n:04d}-xyz"


def test_slips_are_single_use_and_bound_to_the_phone_that_redeemed_them(store):
    m = _draft(store)
    slips = issue_slips(store, m.id, 3, "officer.a")
    assert len(set(slips)) == 3 and all(len(s) == SLIP_LENGTH and set(s) <= set(ALPHABET) for s in slips)
    open_meeting(store, m.id, "officer.a")
    # No slip, a wrong slip: refused, nothing stored.
    with pytest.raises(VoteError) as no_slip:
        cast_ballot(store, m.code, _phone(1), "resident", {A: 1})
    assert no_slip.value.reason == "slip_needed"
    with pytest.raises(VoteError) as wrong:
        cast_ballot(store, m.code, _phone(1), "resident", {A: 1}, slip="ZZZZZZZZ")
    assert wrong.value.reason == "slip_invalid"
    assert results(store, m.id).ballots == 0
    # A slip typed in lower case with a dash works once; the same phone then edits without it.
    typed = slips[0][:4].lower() + "-" + slips[0][4:]
    cast_ballot(store, m.code, _phone(1), "resident", {A: 1}, slip=typed)
    again = cast_ballot(store, m.code, _phone(1), "resident", {B: 2})
    assert again.replaced and again.revision == 2
    # Another phone (a private window, a new cookie) cannot reuse the slip.
    with pytest.raises(VoteError) as reused:
        cast_ballot(store, m.code, _phone(2), "resident", {A: 1}, slip=slips[0])
    assert reused.value.reason == "slip_invalid"
    cast_ballot(store, m.code, _phone(2), "resident", {A: 1}, slip=slips[1])
    assert results(store, m.id).ballots == 2
    rules = phone_rules(store, m.id)
    assert (rules.slips_required, rules.slips_issued, rules.slips_redeemed) == (True, 3, 2)


def test_only_hashes_of_slips_are_stored(store):
    m = _draft(store)
    slips = issue_slips(store, m.id, 2, "officer.a")
    stored = {h for (h,) in store.execute("SELECT slip_sha256 FROM meeting_slips").fetchall()}
    assert stored == {hashlib.sha256(f"{m.id}:{s}".encode()).hexdigest() for s in slips}
    dump = str(store.execute("SELECT * FROM meeting_slips").fetchall()) + str(
        store.execute("SELECT * FROM audit_log").fetchall()
    )
    assert not any(s in dump for s in slips)


def test_slip_mode_starts_before_voting_and_a_slip_is_worth_nothing_elsewhere(store):
    cookie = open_meeting(store, _draft(store).id, "officer.a")
    with pytest.raises(MeetingError, match="before voting opens"):
        issue_slips(store, cookie.id, 5, "officer.a")
    strict = _draft(store)
    first = issue_slips(store, strict.id, 1, "officer.a")
    open_meeting(store, strict.id, "officer.a")
    more = issue_slips(store, strict.id, 1, "officer.a")  # latecomers, while open
    cast_ballot(store, strict.code, _phone(3), "resident", {A: 1}, slip=more[0])
    other = _draft(store)
    issue_slips(store, other.id, 1, "officer.a")
    open_meeting(store, other.id, "officer.a")
    with pytest.raises(VoteError):
        cast_ballot(store, other.code, _phone(4), "resident", {A: 1}, slip=first[0])
    close_meeting(store, strict.id, "officer.a")
    with pytest.raises(MeetingError, match="closed"):
        issue_slips(store, strict.id, 1, "officer.a")
    for bad in (0, -1, 10_000, True, "5"):
        with pytest.raises(MeetingError):
            issue_slips(store, other.id, bad, "officer.a")  # type: ignore[arg-type]


def test_group_codes_are_made_once_per_meeting_and_name_their_group(store):
    m = _draft(store)
    codes = group_codes(store, m.id, "officer.a")
    assert set(codes) == {"officer", "partner"} and codes["officer"] != codes["partner"]
    assert group_codes(store, m.id, "officer.b") == codes  # stable: staff read them out more than once
    assert role_for_code(store, m.id, codes["officer"].lower()) == "officer"
    assert role_for_code(store, m.id, " " + codes["partner"]) == "partner"
    for wrong in ("", "resident", "AAAAAAAA", None, codes["officer"][:-1]):
        assert role_for_code(store, m.id, wrong) is None
    other = _draft(store)
    assert role_for_code(store, other.id, codes["officer"]) is None  # no codes made there yet
    assert group_codes(store, other.id, "officer.a")["officer"] != codes["officer"]


def test_headcount_is_stored_with_the_meeting(store):
    m = _draft(store)
    assert phone_rules(store, m.id).headcount is None
    assert set_headcount(store, m.id, 42, "officer.a").headcount == 42
    assert phone_rules(store, m.id).slips_required is False  # the headcount leaves slip mode alone
    assert set_headcount(store, m.id, None, "officer.a").headcount is None
    for bad in (-1, 1.5, True, 10**9):
        with pytest.raises(MeetingError):
            set_headcount(store, m.id, bad, "officer.a")  # type: ignore[arg-type]


def test_normalise_slip():
    assert normalise_slip("abcd efgh") == "ABCDEFGH"
    for bad in ("ABCDEFG", "ABCDEFGHJ", "ABCDEFG0", "ABCDEFGI", 12345678, None):
        assert normalise_slip(bad) is None


def test_cli_issues_slips_shows_group_codes_and_sets_the_headcount(store, settings, tmp_path):
    m = _draft(store)
    store.close()
    runner = CliRunner()
    base = ["--db", str(settings.db), "meetings"]
    out = tmp_path / "slips.html"
    made = runner.invoke(cli, [*base, "slips", str(m.id), "--count", "4", "--out", str(out)])
    assert made.exit_code == 0, made.output
    slips = [line.strip() for line in made.stdout.splitlines() if normalise_slip(line.strip())]
    assert len(slips) == 4
    sheet = out.read_text(encoding="utf-8")
    assert all(s in sheet for s in slips) and m.code in sheet
    groups = runner.invoke(cli, [*base, "groups", str(m.id)])
    assert groups.exit_code == 0 and "officer" in groups.stdout and "partner" in groups.stdout
    head = runner.invoke(cli, [*base, "headcount", str(m.id), "37"])
    assert head.exit_code == 0, head.output
    bad = runner.invoke(cli, [*base, "slips", str(m.id), "--count", "0"])
    assert bad.exit_code == 2 and "1 to" in bad.output
