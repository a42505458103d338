"""Retention purges: whole old months go, their aggregates stay, and every purge is one recorded transaction."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

import koban_geo.ops.maintenance as maintenance
from koban_geo.ingest import ingest_file
from koban_geo.ops.maintenance import month_cutoff, purge
from koban_geo.store.db import connect
from koban_geo.store.recovery import recover_torn_batches
from koban_geo.store.settings import Settings
from koban_geo.store.sql import query
from koban_geo.store.taxonomy import theme_codes
from tests.helpers import write_areas, write_text

NOW = datetime(2026, 11, 24, 9, 30)  # retention 24 months -> concerns before 2024-11-01 go

# Around the Helsinki test areas (Kamppi HEL-W west of 24.94, Kluuvi HEL-E east of it):
# a1/a2 one group across a month end; b1/b2 one group whose snapped place straddles the area border;
# c1 alone; d1 recent (kept).
CONCERNS = """id,date,lat,lon,theme,text
a1,2024-01-30 10:00,60.1700,24.9300,noise,loud music at Kerkstraat 27b
a2,2024-02-01 09:00,60.1700,24.9300,noise,loud again
b1,2024-03-10 10:00,60.1650,24.93995,litter,bins
b2,2024-03-11 10:00,60.1650,24.94005,litter,bins again
c1,2024-03-20 10:00,60.1680,24.9500,parking,cars on the pavement
d1,2026-10-01 10:00,60.1700,24.9300,noise,loud now
"""


@pytest.fixture
def small(con, settings: Settings, tmp_path: Path):
    ingest_file(con, settings, write_areas(tmp_path / "areas.geojson"), kind="areas")
    result = ingest_file(con, settings, write_text(tmp_path / "p.csv", CONCERNS))
    assert result.accepted == 6
    return con


@pytest.fixture
def demo(demo_db: Path, tmp_path: Path):
    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    con = connect(db)
    yield con, Settings(db=db)
    con.close()


def state(con) -> dict[str, list[tuple]]:
    """Every table a purge writes, in full."""
    return {
        "concerns": con.execute("SELECT source, id, reported_at FROM concerns ORDER BY ALL").fetchall(),
        "audit_log": con.execute("SELECT * FROM audit_log ORDER BY ALL").fetchall(),
        "concern_archive": con.execute(
            "SELECT * EXCLUDE (place) FROM concern_archive ORDER BY ALL"
        ).fetchall(),
        "purge_log": con.execute("SELECT id FROM purge_log").fetchall(),
        "batches": con.execute(
            "SELECT id, rows_accepted, rows_purged FROM ingest_batches ORDER BY id"
        ).fetchall(),
        "indexes": con.execute("SELECT index_name FROM duckdb_indexes() ORDER BY 1").fetchall(),
    }


@pytest.mark.parametrize(
    ("now", "months", "cutoff"),
    [
        (datetime(2026, 11, 24, 9, 30), 24, datetime(2024, 11, 1)),
        (datetime(2026, 11, 1, 0, 0), 24, datetime(2024, 11, 1)),
        (datetime(2026, 1, 15), 1, datetime(2025, 12, 1)),
        (datetime(2026, 3, 31), 14, datetime(2025, 1, 1)),
        (datetime(2026, 12, 31, 23, 59), 72, datetime(2020, 12, 1)),
    ],
)
def test_whole_months_older_than_the_retention_go(now: datetime, months: int, cutoff: datetime) -> None:
    assert month_cutoff(now, months) == cutoff


def test_dry_run_reports_per_month_and_theme_and_changes_nothing(small, settings: Settings) -> None:
    before = state(small)
    report = purge(small, settings, now=NOW)
    assert not report.applied and report.purge_id is None
    assert report.concerns_before == datetime(2024, 11, 1)
    assert report.by_month_theme == {"2024-01": {"noise": 1}, "2024-02": {"noise": 1},
                                     "2024-03": {"litter": 2, "parking": 1}}  # fmt: skip
    assert report.concerns == 5 and report.split_groups == 1
    assert state(small) == before


def test_apply_archives_deletes_and_records_in_one_go(small, settings: Settings) -> None:
    report = purge(small, settings, now=NOW, apply=True)
    assert report.applied and report.concerns == 5 and report.purge_id == 1
    assert small.execute("SELECT id FROM concerns").fetchall() == [("d1",)]
    archive = small.execute(
        "SELECT strftime(month, '%Y-%m'), theme, area_code, ST_AsText(place), snap_m, reports, groups, purge_id "
        "FROM concern_archive ORDER BY ALL"
    ).fetchall()
    assert archive == [
        ("2024-01", "noise", "HEL-W", "POINT (24.930074 60.170054)", 100, 1, 1, 1),
        (
            "2024-02",
            "noise",
            "HEL-W",
            "POINT (24.930074 60.170054)",
            100,
            1,
            1,
            1,
        ),  # a group counts per month
        ("2024-03", "litter", "HEL-E", "POINT (24.939416 60.164811)", 100, 1, 0, 1),
        ("2024-03", "litter", "HEL-W", "POINT (24.939416 60.164811)", 100, 1, 1, 1),  # where it began
        ("2024-03", "parking", "HEL-E", "POINT (24.950052 60.16767)", 100, 1, 1, 1),
    ]
    columns = {r[0] for r in small.execute("DESCRIBE concern_archive").fetchall()}
    assert columns == {
        "month",
        "theme",
        "area_code",
        "place",
        "snap_m",
        "reports",
        "groups",
        "purge_id",
        "site",
    }
    log = small.execute(
        "SELECT actor, concerns_before, audit_before, concerns_deleted, audit_deleted, archive_rows, detail "
        "FROM purge_log"
    ).fetchone()
    assert log[:6] == ("cli", datetime(2024, 11, 1), datetime(2020, 11, 1), 5, 0, 5)
    assert json.loads(log[6])["split_groups"] == 1
    assert small.execute("SELECT actor, action FROM audit_log ORDER BY id DESC LIMIT 1").fetchone() == (
        "cli",
        "purge",
    )
    # count(concerns of a batch) = rows_accepted - rows_purged still holds
    assert query(small, "purge_batch_integrity").fetchone() == (0, 0)
    assert small.execute(
        "SELECT rows_accepted, rows_purged FROM ingest_batches WHERE kind = 'concerns'"
    ).fetchone() == (6, 5)
    # the R-tree is back and answers
    assert small.execute(
        "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'concerns'"
    ).fetchall() == [("concerns_geom",)]
    assert small.execute(
        "SELECT count(*) FROM concerns WHERE ST_Intersects(geom, ST_MakeEnvelope(24.92, 60.16, 24.94, 60.18))"
    ).fetchone() == (1,)
    # nothing more to do the second time
    again = purge(small, settings, now=NOW, apply=True)
    assert (again.concerns, again.archive_rows) == (0, 0)


def test_a_purged_file_is_not_ingested_again_by_accident(small, settings: Settings, tmp_path: Path) -> None:
    purge(small, settings, now=NOW, apply=True)
    again = ingest_file(small, settings, tmp_path / "p.csv")
    assert again.already_ingested


def test_audit_rows_older_than_their_retention_go(small, settings: Settings) -> None:
    small.execute(
        "INSERT INTO audit_log (logged_at, actor, action, detail) VALUES "
        "('2020-10-31 23:59', 'old', 'x', ''), ('2020-11-01 00:00', 'kept', 'x', '')"
    )
    report = purge(small, settings, now=NOW, apply=True)
    assert report.audit == 1 and report.audit_before == datetime(2020, 11, 1)
    assert small.execute("SELECT actor FROM audit_log WHERE action = 'x'").fetchall() == [("kept",)]


def test_counts_published_before_a_purge_are_reproduced_from_the_archive(demo) -> None:
    con, settings = demo
    first, last = con.execute("SELECT min(reported_at), max(reported_at) FROM concerns").fetchone()
    now = datetime(first.year + 2, first.month + 2, 5) if first.month <= 10 else None  # purges 2 months
    assert now is not None
    crs = con.execute("SELECT value FROM meta WHERE key = 'metric_crs'").fetchone()[0]
    dry = purge(con, settings, now=now)
    months = sorted(dry.by_month_theme)
    assert len(months) == 2 and dry.concerns > 500
    everything = tuple(theme_codes())

    def published(name: str, month: str, cell: int, groups: bool, themes: tuple[str, ...] | None, areas=None):
        since = datetime.strptime(month, "%Y-%m")
        until = (since + timedelta(days=32)).replace(day=1)
        params = {"crs": crs, "cell": cell, "groups": groups, "themes": list(themes) if themes else None,
                  "since": since, "until": until, "areas": areas}  # fmt: skip
        # the live query also returns each cell's cell key (privacy.cellkey); the archive keeps the counts
        return sorted(tuple(row[:3]) for row in query(con, name, params).fetchall())

    cases = [(m, cell, groups, themes) for m in months for cell in (100, 500) for groups in (False, True)
             for themes in (None, everything, ("noise",))]  # fmt: skip
    area_codes = [r[0] for r in con.execute("SELECT code FROM areas ORDER BY code LIMIT 3").fetchall()]
    before = {case: published("grid_counts_square", *case) for case in cases}
    by_area = {
        (m, a): published("grid_counts_square", m, 100, False, None, [a]) for m in months for a in area_codes
    }
    per_theme = con.execute(
        "SELECT strftime(reported_at, '%Y-%m'), theme, area_code, count(*) FROM concerns "
        "WHERE reported_at < ? GROUP BY ALL ORDER BY ALL",
        [dry.concerns_before],
    ).fetchall()
    groups_per_month = con.execute(
        "SELECT strftime(reported_at, '%Y-%m'), count(DISTINCT coalesce(group_id, source || '/' || id)) "
        "FROM concerns WHERE reported_at < ? GROUP BY ALL ORDER BY ALL",
        [dry.concerns_before],
    ).fetchall()

    report = purge(con, settings, now=now, apply=True)
    assert report.concerns == dry.concerns
    assert con.execute(
        "SELECT count(*) FROM concerns WHERE reported_at < ?", [report.concerns_before]
    ).fetchone() == (0,)
    for case, counts in before.items():
        assert counts, case
        assert published("purge_archive_grid", *case) == counts, case  # every cell, reports and groups
    for (month, area), counts in by_area.items():
        assert published("purge_archive_grid", month, 100, False, None, [area]) == counts
    assert (
        con.execute(
            "SELECT strftime(month, '%Y-%m'), theme, area_code, sum(reports) FROM concern_archive GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        == per_theme
    )
    assert (
        con.execute(
            "SELECT strftime(month, '%Y-%m'), sum(groups) FROM concern_archive GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        == groups_per_month
    )
    assert query(con, "purge_batch_integrity").fetchone() == (0, 0)


def test_a_failing_purge_changes_nothing_and_rebuilds_the_index(
    small, settings: Settings, monkeypatch
) -> None:
    before = state(small)
    real = maintenance.query

    def failing(con, name, params=None):
        if name == "purge_audit":
            raise RuntimeError("disk full")
        return real(con, name, params)

    monkeypatch.setattr(maintenance, "query", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        purge(small, settings, now=NOW, apply=True)
    assert state(small) == before
    assert small.execute("SELECT count(*) FROM meta WHERE key = 'pending_indexes'").fetchone() == (0,)


def test_an_index_left_out_by_a_crash_is_rebuilt(small, settings: Settings) -> None:
    """A crash between a purge's index drop and its rebuild leaves the definition in meta."""
    sql = small.execute("SELECT sql FROM duckdb_indexes() WHERE index_name = 'concerns_geom'").fetchone()[0]
    small.execute("INSERT INTO meta VALUES ('pending_indexes', ?)", [json.dumps([sql])])
    small.execute("DROP INDEX concerns_geom")
    assert recover_torn_batches(small) == {}
    assert small.execute(
        "SELECT count(*) FROM duckdb_indexes() WHERE index_name = 'concerns_geom'"
    ).fetchone() == (1,)
    assert small.execute("SELECT count(*) FROM meta WHERE key = 'pending_indexes'").fetchone() == (0,)


def test_now_with_an_offset_is_taken_in_the_store_zone(small, settings: Settings) -> None:
    at = datetime(2026, 11, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 2026-10-31 22:30 UTC
    report = purge(small, settings, now=at)
    assert report.now == datetime(2026, 10, 31, 22, 30) and report.concerns_before == datetime(2024, 10, 1)


def run(runner: CliRunner, cli, db: Path, *args: str):
    return runner.invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def test_cli_dry_run_then_apply(ops_cli, small, settings: Settings) -> None:
    small.close()
    runner = CliRunner()
    dry = run(runner, ops_cli, settings.db, "purge", "--now", "2026-11-24")
    assert dry.exit_code == 0, dry.stderr
    assert "dry run, nothing deleted" in dry.stdout
    assert "concerns reported before 2024-11-01: would purge 5" in dry.stdout
    assert "  2024-03  litter 2, parking 1" in dry.stdout
    assert "run with --apply" in dry.stdout
    as_json = run(runner, ops_cli, settings.db, "purge", "--now", "2026-11-24", "--json")
    assert json.loads(as_json.stdout)["concerns"] == 5
    applied = run(
        runner, ops_cli, settings.db, "purge", "--apply", "--now", "2026-11-24", "--actor", "admin:kim"
    )
    assert applied.exit_code == 0, applied.stderr
    assert "purge 1:" in applied.stdout and "purged 5" in applied.stdout
    con = connect(settings.db)
    assert con.execute("SELECT actor FROM purge_log").fetchone() == ("admin:kim",)
    con.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--now", "yesterday"], "is not an ISO date or time"),
        (["--compact"], "--compact goes with --apply"),
    ],
)
def test_cli_bad_options(ops_cli, settings: Settings, args: list[str], message: str) -> None:
    result = run(CliRunner(), ops_cli, settings.db, "purge", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_compact_removes_the_purged_text_from_the_file(ops_cli, small, settings: Settings) -> None:
    small.execute("CHECKPOINT")
    small.close()
    marker = b"loud music at"  # a1, purged (its address is scrubbed at intake)
    assert marker in settings.db.read_bytes()
    plain = run(CliRunner(), ops_cli, settings.db, "purge", "--apply", "--now", "2026-11-24")
    assert plain.exit_code == 0
    assert marker in settings.db.read_bytes()  # deleted rows stay in the file's blocks...
    # ... until the file is rewritten with its live rows only
    compacted = run(CliRunner(), ops_cli, settings.db, "purge", "--apply", "--compact", "--now", "2026-11-24")
    assert compacted.exit_code == 0, compacted.stderr
    assert "store file rewritten with live rows only" in compacted.stdout
    assert marker not in settings.db.read_bytes()
    assert not settings.db.with_name(settings.db.name + ".wal").exists()
    con = connect(settings.db)
    assert con.execute("SELECT id FROM concerns").fetchall() == [("d1",)]
    assert con.execute("SELECT count(*) FROM concern_archive").fetchone() == (5,)
    assert con.execute("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1").fetchone() == ("compact",)
    con.close()
