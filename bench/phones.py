""" "Vote now" through the real phone page; writes bench/results/phones.md.

    python bench/phones.py                 # 150 phones (~1 min)
    python bench/phones.py --phones 300 --no-write

Starts the dashboard as `koban-geo serve` does (`streamlit run dashboard/server.py`: Streamlit's pages and the
app's own /vote route in ONE process, one store connection) on a loopback port, against a fresh store with
one open dot-voting meeting of six items. N simulated phones (one thread and one HTTP client with its own
cookie jar each) open /vote?meeting=CODE at the same instant, then all send their ballot at the same instant
(a plain form POST, as a phone without JavaScript sends it; 1 in 10 enters the officers' group code). Measured
per phone: the page (GET, first visit: the device cookie is set), the ballot (POST, answered 303), and open +
vote together; ballots per second over the vote burst. Then the server is stopped and the store is read: each
phone's ballot must be counted exactly once (participants, points per group, revision 1).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _common  # noqa: E402
import httpx2 as httpx  # noqa: E402

from koban_geo.community.admission import group_codes  # noqa: E402
from koban_geo.community.meetings import create_meeting, open_meeting, theme_candidate  # noqa: E402
from koban_geo.community.voting import results  # noqa: E402
from koban_geo.store.db import connect  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "phones.md"
THEMES = ("noise", "asb", "litter", "traffic", "parking", "vandalism")
SEED = 20261207
PACKAGES = ("duckdb", "streamlit", "starlette", "uvicorn", "httpx2")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(_pct(values, 0.5) * 1000), "p95": round(_pct(values, 0.95) * 1000),
            "max": round(max(values) * 1000), "mean": round(statistics.fmean(values) * 1000)}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(db: Path) -> tuple[str, int, str, list[str]]:
    con = connect(db)
    con.execute(
        "INSERT INTO areas (code, name, geom, batch_id) VALUES ('BENCH-1', 'Bench area', "
        "ST_GeomFromText('POLYGON((24.92 60.16, 24.96 60.16, 24.96 60.175, 24.92 60.175, 24.92 60.16))'), 0)"
    )
    m = create_meeting(con, title="Vote now", date=date.today(), areas=["BENCH-1"], actor="bench",
                       candidates=[theme_candidate(t) for t in THEMES])  # fmt: skip
    m = open_meeting(con, m.id, "bench")
    officer = group_codes(con, m.id, "bench")["officer"]
    con.close()
    return m.code, m.id, officer, list(m.keys)


def _serve(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, KOBAN_DB=str(db), KOBAN_TILES_URL="")
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "server.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text.strip() == "ok":
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the dashboard did not start; see {log}")


def run(phones: int, folder: Path) -> dict[str, Any]:
    db = folder / "koban.duckdb"
    code, meeting_id, officer, keys = _prepare(db)
    rng = random.Random(SEED)
    plans = []
    for i in range(phones):
        dots: dict[int, int] = {}
        for _ in range(rng.randint(1, 3)):
            k = rng.choice([k for k in range(len(keys)) if dots.get(k, 0) < 2])
            dots[k] = dots.get(k, 0) + 1
        plans.append(("officer" if i % 10 == 0 else "resident", dots))
    port = _free_port()
    proc = _serve(db, port, folder / "server.log")
    base = f"http://127.0.0.1:{port}"
    opened, ready = threading.Barrier(phones + 1), threading.Barrier(phones + 1)
    page_s: list[float] = [0.0] * phones
    vote_s: list[float] = [0.0] * phones
    status: list[str] = [""] * phones
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    def phone(i: int) -> None:
        role, dots = plans[i]
        with httpx.Client(base_url=base, timeout=120, limits=limits) as client:
            opened.wait()
            t0 = time.perf_counter()
            # A phone waits for "vote now" longer than the server keeps an idle connection (5 s): the ballot
            # goes on a new connection, as a browser's would.
            page = client.get("/vote", params={"meeting": code}, headers={"connection": "close"})
            page_s[i] = time.perf_counter() - t0
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
            ready.wait()
            form = {"csrf": csrf.group(1) if csrf else "", **{f"d{k}": str(v) for k, v in dots.items()}}
            if role == "officer":
                form["group"] = officer
            t1 = time.perf_counter()
            sent = client.post(f"/vote?meeting={code}", data=form)
            vote_s[i] = time.perf_counter() - t1
            status[i] = (
                "ok"
                if sent.status_code == 303 and "sent=1" in sent.headers.get("location", "")
                else str(sent.status_code)
            )

    threads = [threading.Thread(target=phone, args=(i,)) for i in range(phones)]
    try:
        for t in threads:
            t.start()
        cpu0 = _cpu_s(proc.pid)
        opened.wait()
        g0 = time.perf_counter()
        ready.wait()
        opening_wall = time.perf_counter() - g0
        cpu1 = _cpu_s(proc.pid)
        v0 = time.perf_counter()
        for t in threads:
            t.join()
        vote_wall = time.perf_counter() - v0
        cpu2 = _cpu_s(proc.pid)
        rss = _rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    con = connect(db, read_only=True)
    outcome = results(con, meeting_id)
    revisions = con.execute("SELECT max(revision) FROM ballots WHERE meeting_id = ?", [meeting_id]).fetchone()
    con.close()
    expected = {role: dict.fromkeys(keys, 0) for role in ("resident", "officer")}
    for role, dots in plans:
        for k, v in dots.items():
            expected[role][keys[k]] += v
    exact = (
        outcome.ballots == phones
        and outcome.groups["officer"].participants == sum(1 for r, _ in plans if r == "officer")
        and all(dict(outcome.groups[r].ballot_points) == pts for r, pts in expected.items())
        and revisions == (1,)
    )
    return {
        "phones": phones,
        "accepted": status.count("ok"),
        "refused": [s for s in status if s != "ok"][:5],
        "counted": outcome.ballots,
        "exact": exact,
        "page_ms": _summary(page_s),
        "vote_ms": _summary(vote_s),
        "both_ms": _summary([a + b for a, b in zip(page_s, vote_s, strict=True)]),
        "opening_wall_s": round(opening_wall, 2),
        "vote_wall_s": round(vote_wall, 2),
        "ballots_per_s": round(phones / vote_wall, 1),
        "server_rss_mb": rss,
        "server_cpu_ms_per_page": round((cpu1 - cpu0) / phones * 1000, 1),
        "server_cpu_ms_per_ballot": round((cpu2 - cpu1) / phones * 1000, 1),
    }


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the server process has used so far: a figure the machine's load does
    not inflate much, unlike wall-clock latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return 0.0


def render(report: dict[str, Any]) -> str:
    r, m = report["result"], report["machine"]
    return f"""# "Vote now" through the phone page (bench/phones.py)

Run {report["started"]} with `python bench/phones.py {report["args"]}`; load average before {report["load_before"]},
after {report["load_after"]} (2 cores shared with other work: figures are indicative).
Machine: {m.get("cpu", "")}, {m.get("cores", "")} cores, {m.get("ram_gb", "")} GB; Python {m.get("python", "")};
{", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items())}.

One server process as `koban-geo serve` runs it (`streamlit run dashboard/server.py`: Streamlit's pages and the
app's own `/vote` route, one shared store connection); {r["phones"]} simulated phones on the same machine (one
thread and one HTTP client each) open `/vote?meeting=CODE` at the same instant, then all send a dot-voting
ballot at the same instant (plain form POST, answered 303; 1 in 10 with the officers' group code).

| | p50 | p95 | max |
|---|---|---|---|
| open the page (GET, cookie set) | {r["page_ms"]["p50"]} ms | {r["page_ms"]["p95"]} ms | {r["page_ms"]["max"]} ms |
| send the ballot (POST) | {r["vote_ms"]["p50"]} ms | {r["vote_ms"]["p95"]} ms | {r["vote_ms"]["max"]} ms |
| open + send, per phone | {r["both_ms"]["p50"]} ms | {r["both_ms"]["p95"]} ms | {r["both_ms"]["max"]} ms |

- Ballots accepted {r["accepted"]} of {r["phones"]}, counted in the store {r["counted"]}; every ballot counted
  exactly once (participants, points per group, no second revision): **{r["exact"]}**.
- All pages served in {r["opening_wall_s"]} s; all ballots in {r["vote_wall_s"]} s = {r["ballots_per_s"]} ballots/s.
- Server CPU time (user + system, all threads): {r["server_cpu_ms_per_page"]} ms per page, {r["server_cpu_ms_per_ballot"]} ms
  per ballot. On an otherwise idle machine, where the one process gets a whole core (Python's GIL makes one
  core the ceiling), that is about {round(1000 / max(r["server_cpu_ms_per_ballot"], 0.1))} ballots/s, i.e. 150 ballots in about
  {round(150 * r["server_cpu_ms_per_ballot"] / 1000, 1)} s: the figure to check against "p95 under 1 s" when the machine is quiet.
- Server memory after the burst: {r["server_rss_mb"]} MB RSS (the whole process, Streamlit included; a phone holds
  no session, so this does not grow with phones).

Before (issue 16, the Streamlit phone page, the same kind of machine, phones speaking Streamlit's websocket
protocol): 50 phones x 2 ballots p50 6.6 s, p95 8.1 s per ballot; 100 phones x 1 ballot p50 13.9 s, p95 17.5 s;
150 phones: every connection dropped (keepalive timeouts) and no ballot was cast.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=150)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave bench/results/phones.md.")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "args": " ".join(argv if argv is not None else sys.argv[1:]),
        "started": datetime.now().strftime("%Y-%m-%dT%H:%M"),
        "load_before": _common.load_average(),
        "machine": _common.machine(PACKAGES),
    }
    with tempfile.TemporaryDirectory() as folder:
        report["result"] = run(args.phones, Path(folder))
    report["load_after"] = _common.load_average()
    r = report["result"]
    print(
        f"{r['phones']} phones: page p50 {r['page_ms']['p50']} ms p95 {r['page_ms']['p95']} ms; ballot p50 "
        f"{r['vote_ms']['p50']} ms p95 {r['vote_ms']['p95']} ms; {r['ballots_per_s']} ballots/s; "
        f"accepted {r['accepted']}, counted {r['counted']}, exact {r['exact']}; refused {r['refused']}; "
        f"server CPU {r['server_cpu_ms_per_page']} ms/page, {r['server_cpu_ms_per_ballot']} ms/ballot"
    )
    if not args.no_write:
        RESULTS.write_text(render(report), encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
