"""The koban-geo command line through click's runner: exit statuses, messages, and that bad input changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from koban_geo.cli.main import cli
from koban_geo.store.db import connect, latest_version
from tests.helpers import snapshot, write_areas, write_text

GOOD = "id,date,lat,lon,theme,text\n1,2025-01-01 10:00,60.17,24.94,noise,loud\n2,2025-01-02,60.168,24.945,litter,bins\n"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "store.duckdb"
    return path


def run(runner, db, *args):
    return runner.invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def test_init_creates_the_store(runner, db):
    result = run(runner, db, "init")
    assert result.exit_code == 0 and f"schema version {latest_version()}" in result.stdout
    assert db.exists()


def test_ingest_all_stored_exits_0_and_reingest_is_a_no_op(runner, db, tmp_path):
    path = write_text(tmp_path / "ok.csv", GOOD)
    first = run(runner, db, "ingest", str(path))
    assert first.exit_code == 0 and "ok.csv: 2 stored, 0 rejected" in first.stdout
    again = run(runner, db, "ingest", str(path))
    assert again.exit_code == 0 and "already ingested as batch 1" in again.stdout


def test_ingest_with_rejected_rows_exits_1_and_names_them(runner, db, tmp_path):
    path = write_text(tmp_path / "some.csv", GOOD + "3,2025-01-03,60.17,200,noise,x\n")
    result = run(runner, db, "ingest", "--json", str(path))
    assert result.exit_code == 1
    assert "some.csv:4: lon: out of range (-180..180)" in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"], summary["exit_code"]) == (2, 1, 1)


@pytest.mark.parametrize(
    ("name", "content", "args", "message"),
    [
        ("empty.csv", b"", [], "empty.csv: the file is empty"),
        ("binary.csv", b"\x00\x01\x02" * 100, [], "binary.csv: this is a binary file"),
        ("trunc.csv", b'id,date,lat,lon\n1,2025-01-01,60.17,"24.9', [], "trunc.csv:2: unterminated quote"),
        ("array.geojson", b"[]", ["--format", "geojson"], "wrong JSON type"),
        (
            "allbad.csv",
            b"id,date,lat,lon\n1,never,60.17,24.94\n",
            [],
            "allbad.csv:2: reported_at: not a date",
        ),
        ("bowtie.geojson", None, ["--kind", "areas"], "geometry: invalid polygon"),
    ],
)
def test_nothing_stored_exits_2_and_changes_nothing(runner, db, tmp_path, name, content, args, message):
    run(runner, db, "ingest", str(write_text(tmp_path / "ok.csv", GOOD)))
    path = tmp_path / name
    if content is None:
        bowtie = [(24.92, 60.16), (24.94, 60.175), (24.94, 60.16), (24.92, 60.175), (24.92, 60.16)]
        write_areas(path, {"B": ("Bow", bowtie)})
    else:
        path.write_bytes(content)
    con = connect(db)
    before = snapshot(con)
    con.close()
    result = run(runner, db, "ingest", *args, str(path))
    assert result.exit_code == 2
    assert message in result.stderr
    con = connect(db)
    assert snapshot(con) == before
    con.close()


def test_bad_map_option(runner, db, tmp_path):
    result = run(runner, db, "ingest", "--map", "latitude", str(write_text(tmp_path / "x.csv", GOOD)))
    assert result.exit_code == 2 and "expected FIELD=COLUMN" in result.stderr


def test_map_option_names_columns(runner, db, tmp_path):
    path = write_text(tmp_path / "odd.csv", "A,B,C,D\n1,2025-01-01,60.17,24.94\n")
    result = run(
        runner,
        db,
        "ingest",
        "--map",
        "id=A",
        "--map",
        "reported_at=B",
        "--map",
        "lat=C",
        "--map",
        "lon=D",
        str(path),
    )
    assert result.exit_code == 0, result.stderr


def test_stats_json(runner, db, tmp_path):
    run(runner, db, "ingest", "--kind", "areas", str(write_areas(tmp_path / "a.geojson")))
    run(runner, db, "ingest", str(write_text(tmp_path / "ok.csv", GOOD)))
    result = run(runner, db, "stats", "--json")
    report = json.loads(result.stdout)
    assert report["tables"]["concerns"] == 2 and report["tables"]["areas"] == 2
    assert report["themes"] == {"litter": 1, "noise": 1}
    assert sum(report["areas"].values()) == 2


def test_stats_on_a_missing_store_says_what_to_do(runner, tmp_path):
    result = runner.invoke(cli, ["--db", str(tmp_path / "nope.duckdb"), "stats"])
    assert result.exit_code == 1 and "koban-geo init" in result.stderr


def test_themes_map_then_ingest_uses_it(runner, db, tmp_path):
    assert run(runner, db, "themes", "map", "Rommel op straat", "litter").exit_code == 0
    path = write_text(
        tmp_path / "r.csv", "id,date,lat,lon,theme\n1,2025-01-01,60.17,24.94,Rommel op straat\n"
    )
    run(runner, db, "ingest", str(path))
    con = connect(db)
    assert con.execute("SELECT theme, theme_source FROM concerns").fetchone() == ("litter", "mapped")
    con.close()
    bad = run(runner, db, "themes", "map", "x", "nonsense")
    assert bad.exit_code == 2 and "unknown theme code" in bad.stderr


def test_a_second_process_gets_a_clear_lock_message(db, tmp_path):
    holder = connect(db)  # this process holds the write lock, as the dashboard server would
    try:
        out = subprocess.run(
            [sys.executable, "-m", "koban_geo", "--db", str(db), "ingest", str(write_text(tmp_path / "x.csv", GOOD))],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        holder.close()
    assert out.returncode != 0
    assert "open in another process" in out.stderr


def test_help_lists_the_documented_commands(runner):
    result = runner.invoke(cli, ["--help"])
    for command in ("init", "ingest", "demo", "stats", "serve", "scrub", "classify", "themes", "review"):
        assert command in result.stdout


def test_scrub_prints_each_line_as_the_store_keeps_it(runner, tmp_path):
    source = write_text(
        tmp_path / "in.txt", "Bel me op 06-12345678 over de herrie\nGeen persoonsgegevens hier\n"
    )
    result = runner.invoke(cli, ["scrub", str(source)])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["Bel me op [PHONE] over de herrie", "Geen persoonsgegevens hier"]
    piped = runner.invoke(cli, ["scrub", "-"], input="mail jan@example.nl\n")
    assert piped.stdout == "mail [EMAIL]\n"


def test_classify_json_lines(runner):
    result = runner.invoke(
        cli, ["classify", "--json", "-"], input="Loud music from the bar every night\nok\n"
    )
    assert result.exit_code == 0
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert set(first) == {"theme", "confidence", "language", "flagged"}
    assert first["language"] == "en"
    assert second == {**second, "theme": "other", "flagged": True}


def test_review_commands(runner, db, tmp_path):
    text = "id,date,lat,lon,theme,text\n1,2025-01-01,60.17,24.94,,ok\n"
    run(runner, db, "ingest", str(write_text(tmp_path / "r.csv", text)))
    listed = run(runner, db, "review", "list", "--json")
    assert json.loads(listed.stdout)["id"] == "1"
    assert run(runner, db, "review", "theme", "r", "1", "noise", "--actor", "mod:a").exit_code == 0
    assert run(runner, db, "review", "list").stdout == ""
    redacted = run(runner, db, "review", "redact", "r", "1", "ring 06-12345678", "--actor", "mod:a")
    assert redacted.exit_code == 0
    con = connect(db)
    assert con.execute("SELECT description FROM concerns").fetchone()[0] == "ring [PHONE]"
    assert [r[0] for r in con.execute("SELECT action FROM audit_log ORDER BY id").fetchall()][-2:] == [
        "set_theme",
        "redact",
    ]
    con.close()
    missing = run(runner, db, "review", "redact", "r", "nope", "x", "--actor", "mod:a")
    assert missing.exit_code == 2 and "no concern r/nope" in missing.stderr


def test_backtest_command_on_policeuk_files(runner, tmp_path):
    from koban_geo.ops.demo import write_demo_inputs

    inputs = write_demo_inputs(tmp_path / "demo", last_day=date(2026, 10, 31))
    files = sorted(inputs.crime)
    args = ["backtest", "--format", "policeuk", "--cell", "100"]
    for path in files[:-1]:
        args += ["--train", str(path)]
    args += ["--test", str(files[-1]), "--coverage", "0.05", "--coverage", "0.1", "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["methods"]) == {"model", "count", "kde"}
    assert [row["coverage"] for row in report["methods"]["model"]] == [0.05, 0.1]
    table = runner.invoke(cli, args[:-1])
    assert "PEI*" in table.stdout and table.stdout.count("model") == 2
    bad = runner.invoke(cli, ["backtest", "--train", str(inputs.concerns), "--test", str(files[-1])])
    assert bad.exit_code == 2 and "not a police.uk street-level CSV" in bad.stderr


def test_demo_command_prints_a_fresh_login_and_an_open_meeting(tmp_path):
    import re

    from koban_geo.community.accounts import authenticate
    from koban_geo.community.meetings import meeting_by_code
    from koban_geo.store.settings import Settings

    db = tmp_path / "demo.duckdb"
    out = CliRunner().invoke(cli, ["--db", str(db), "demo"])
    assert out.exit_code == 0, out.output
    password = re.search(r"dashboard login: demo / (\S+)", out.output).group(1)
    code = re.search(r"join code (\w+)", out.output).group(1)
    con = connect(db)
    try:
        assert authenticate(con, Settings(db=db), "demo", password).role == "admin"
        meeting = meeting_by_code(con, code)
        assert meeting.status == "open" and meeting.candidates
    finally:
        con.close()
    again = CliRunner().invoke(cli, ["--db", str(tmp_path / "other.duckdb"), "demo"])
    assert (
        re.search(r"dashboard login: demo / (\S+)", again.output).group(1) != password
    )  # never a fixed password


HOLDING_SERVER = """
import os
import streamlit as st
from koban_geo.store.db import connect

HOLD = connect(os.environ["KOBAN_DB"])  # the server holds the store from start-up, as after a first page
app = st.App("page.py")
"""


def test_stopping_serve_stops_the_server_and_frees_the_store(tmp_path: Path) -> None:
    """Issue 13 item 9: `kill` of `koban-geo serve` used to leave its Streamlit child holding the store, so
    every later CLI write failed with "open in another process"."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.browser import free_port

    db = tmp_path / "koban.duckdb"
    connect(db).close()
    app = tmp_path / "dashboard" / "server.py"
    app.parent.mkdir()
    app.write_text(HOLDING_SERVER)
    (app.parent / "page.py").write_text("import streamlit as st\nst.write('ok')\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOBAN_")}
    env.update(KOBAN_APP=str(app), PYTHONPATH=os.pathsep.join(sys.path))
    serve = subprocess.Popen([sys.executable, "-m", "koban_geo", "--db", str(db), "serve", "--port", str(port)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120  # start-up wait, not a performance assertion
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
                    if resp.read().strip() == b"ok":
                        break
            except OSError:
                pass
            assert serve.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        held = subprocess.run([sys.executable, "-m", "koban_geo", "--db", str(db), "init"], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert held.returncode != 0 and "open in another process" in held.stderr
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    done = subprocess.run([sys.executable, "-m", "koban_geo", "--db", str(db), "init"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_serve_without_the_app_extra_says_what_to_install(tmp_path, monkeypatch):
    """The library and the CLI install without Streamlit; `serve` then names the extra instead of a traceback."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "streamlit" else real(name, *a)
    )
    monkeypatch.setattr("os.execve", lambda *a: pytest.fail("serve started a server without Streamlit"))
    out = CliRunner().invoke(cli, ["--db", str(tmp_path / "k.duckdb"), "serve"])
    assert out.exit_code == 2
    assert "koban-geo[app]" in out.output and "streamlit missing" in out.output
