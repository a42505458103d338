""" "Vote now": 150 phones open the page and send their ballot at the same instant, over real HTTP on the
loopback to one server process (uvicorn running the phone route on one shared store connection). Every
ballot must be counted exactly once. No clock here: bench/phones.py measures the times."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from datetime import date

import httpx2 as httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from koban_geo.community.admission import group_codes
from koban_geo.community.meetings import create_meeting, open_meeting, theme_candidate
from koban_geo.community.voting import results
from web import middleware
from web.phone import phone_routes

PHONES = 150
THEMES = ("noise", "asb", "litter", "traffic", "parking")


@pytest.fixture
def server(con):
    con.execute(
        "INSERT INTO areas (code, name, geom, batch_id) VALUES ('L-1', 'Load', "
        "ST_GeomFromText('POLYGON((24.92 60.16, 24.94 60.16, 24.94 60.175, 24.92 60.175, 24.92 60.16))'), 0)"
    )
    app = Starlette(routes=phone_routes(connect=lambda: con), middleware=middleware())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", backlog=512))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:  # start-up wait, not a performance assertion
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield con, f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_150_phones_voting_at_once_are_each_counted_exactly_once(server):
    con, base = server
    meeting = create_meeting(con, title="Vote now", date=date(2026, 12, 1), areas=["L-1"], actor="officer.a",
                             candidates=[theme_candidate(t) for t in THEMES])  # fmt: skip
    meeting = open_meeting(con, meeting.id, "officer.a")
    officer_code = group_codes(con, meeting.id, "officer.a")["officer"]
    rng = random.Random(20261207)
    plans: list[tuple[str, dict[int, int]]] = []
    for i in range(PHONES):
        dots: dict[int, int] = {}
        for _ in range(rng.randint(1, 3)):
            item = rng.choice([k for k in range(len(THEMES)) if dots.get(k, 0) < 2])
            dots[item] = dots.get(item, 0) + 1
        plans.append(("officer" if i % 10 == 0 else "resident", dots))
    opened = threading.Barrier(PHONES)
    outcomes: list[str | None] = [None] * PHONES

    def phone(i: int) -> None:
        role, dots = plans[i]
        with httpx.Client(base_url=base, timeout=120) as client:
            page = client.get("/vote", params={"meeting": meeting.code})
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
            opened.wait()  # "vote now": every phone sends at the same instant
            form = {"csrf": csrf.group(1) if csrf else "", **{f"d{k}": str(v) for k, v in dots.items()}}
            if role == "officer":
                form["group"] = officer_code
            sent = client.post(f"/vote?meeting={meeting.code}", data=form)
            outcomes[i] = sent.headers.get("location") if sent.status_code == 303 else f"{sent.status_code}"

    threads = [threading.Thread(target=phone, args=(i,)) for i in range(PHONES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(o and "sent=1" in o for o in outcomes), [o for o in outcomes if not o or "sent=1" not in o][:5]
    outcome = results(con, meeting.id)
    expected_points = {role: dict.fromkeys(meeting.keys, 0) for role in ("resident", "officer")}
    for role, dots in plans:
        for k, v in dots.items():
            expected_points[role][meeting.keys[k]] += v
    assert outcome.ballots == PHONES
    assert outcome.groups["officer"].participants == PHONES // 10
    for role, points in expected_points.items():
        assert dict(outcome.groups[role].ballot_points) == points
    revisions = con.execute("SELECT max(revision) FROM ballots WHERE meeting_id = ?", [meeting.id]).fetchone()
    assert revisions == (1,)  # no phone's ballot was taken twice
