"""Backup and restore: a consistent copy taken through the holding process's connection, restored row for row."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from koban_geo.ingest import ingest_file
from koban_geo.ops.maintenance import (
    MANIFEST_FILE,
    STORE_FILE,
    MaintenanceError,
    backup,
    read_manifest,
    restore,
)
from koban_geo.store.db import connect, latest_version, migrations
from koban_geo.store.settings import Settings
from koban_geo.store.sql import audit, meta_set, writing
from tests.helpers import write_text

NEW = "id,date,lat,lon,theme,text\nafter-1,2026-01-05 10:00,60.17,24.94,noise,loud\n"


@pytest.fixture
def demo_copy(demo_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    return db


def dump(con) -> dict[str, list[tuple]]:
    """Every row of every table, geometries as WKB and JSON as text, in a stable order."""
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary "
        "ORDER BY 1").fetchall()]  # fmt: skip
    out = {}
    for table in tables:
        columns = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
            "AND table_name = ? ORDER BY column_index",
            [table],
        ).fetchall()
        select = ", ".join(
            f'ST_AsWKB("{name}")' if kind.startswith("GEOMETRY") else f'"{name}"::VARCHAR' if kind == "JSON" else f'"{name}"'
            for name, kind in columns
        )  # fmt: skip
        out[table] = (columns, con.execute(f'SELECT {select} FROM "{table}" ORDER BY ALL').fetchall())
    return out


def catalogue(con) -> dict[str, list[tuple]]:
    return {
        "indexes": con.execute(
            "SELECT table_name, index_name, sql FROM duckdb_indexes() ORDER BY ALL"
        ).fetchall(),
        "sequences": con.execute(
            "SELECT sequence_name, increment_by, min_value, max_value FROM duckdb_sequences() ORDER BY ALL"
        ).fetchall(),
        "views": con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary"
        ).fetchall(),
    }


def test_demo_store_round_trips_row_for_row(demo_copy: Path, tmp_path: Path) -> None:
    con = connect(demo_copy)
    reference, shape = dump(con), catalogue(con)
    assert reference["concerns"][1] and reference["layers"][1] and reference["areas"][1]
    manifest = backup(con, tmp_path / "bk")
    con.close()

    assert manifest["schema_version"] == latest_version()
    assert manifest["tables"] == {t: len(rows) for t, (_, rows) in reference.items()}
    assert sorted(p.name for p in (tmp_path / "bk").iterdir()) == [MANIFEST_FILE, STORE_FILE]
    assert read_manifest(tmp_path / "bk") == manifest

    target = tmp_path / "restored.duckdb"
    result = restore(tmp_path / "bk", target)
    assert result["migrated"] == []
    con = connect(target)
    try:
        restored = dump(con)
        assert catalogue(con) == shape  # R-tree indexes, sequences; no stray views
        for table, (columns, rows) in reference.items():
            got_columns, got_rows = restored.pop(table)
            assert got_columns == columns, table
            if table == "audit_log":  # + the restore's own row, with the id the sequence had next
                extra = [r for r in got_rows if r not in rows]
                assert [r for r in got_rows if r in rows] == rows
                assert len(extra) == 1 and extra[0][0] == manifest["sequences"]["audit_log_id"]
                assert extra[0][3] == "restore"
            else:
                assert got_rows == rows, table
        assert restored == {}
        # the spatial index answers on the restored store
        hits = con.execute(
            "SELECT count(*) FROM concerns WHERE ST_Intersects(geom, ST_MakeEnvelope(24.90, 60.15, 24.98, 60.20))"
        ).fetchone()[0]
        assert hits > 0
        # sequences continue: a new batch and new audit rows take the next ids, no collision
        settings = Settings(db=target)
        result = ingest_file(con, settings, write_text(tmp_path / "new.csv", NEW))
        assert result.accepted == 1 and result.batch_id == manifest["sequences"]["ingest_batch_id"]
    finally:
        con.close()


def test_backup_is_one_committed_state_while_a_writer_runs(settings: Settings, tmp_path: Path) -> None:
    """As in the server: another thread keeps committing (an audit row and a counter, together) during the
    backup, which runs on the same connection. The copy holds as many rows as the counter says."""
    con = connect(settings.db)
    stop = threading.Event()
    ticks = 0

    def writer() -> None:
        nonlocal ticks
        while not stop.is_set():
            with writing(con) as cur:
                audit(cur, "test", "tick", str(ticks + 1))
                meta_set(cur, "ticks", str(ticks + 1))
            ticks += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while ticks < 20:
            stop.wait(0.01)
        backup(con, tmp_path / "bk")
        at_backup_end = ticks
        while ticks < at_backup_end + 5:
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join()
        con.close()
    restore(tmp_path / "bk", tmp_path / "r.duckdb")
    copy = connect(tmp_path / "r.duckdb")
    try:
        rows = copy.execute("SELECT count(*) FROM audit_log WHERE action = 'tick'").fetchone()[0]
        counter = int(copy.execute("SELECT value FROM meta WHERE key = 'ticks'").fetchone()[0])
    finally:
        copy.close()
    assert rows == counter >= 20
    assert rows < ticks  # the writer went on during and after the backup


def test_restore_of_an_older_backup_runs_the_newer_migrations(tmp_path: Path) -> None:
    old = tmp_path / "old.duckdb"
    con = connect(old, migrate=False)
    for version, name, path in migrations()[:2]:
        con.execute(path.read_text(encoding="utf-8"))
        con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, name])
    manifest = backup(con, tmp_path / "bk")
    con.close()
    assert manifest["schema_version"] == 2
    result = restore(tmp_path / "bk", tmp_path / "new.duckdb")
    assert result["migrated"] == list(range(3, latest_version() + 1))
    con = connect(tmp_path / "new.duckdb")
    assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == latest_version()
    con.close()


def run(runner: CliRunner, cli, db: Path, *args: str):
    return runner.invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def test_cli_backup_and_restore(ops_cli, settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    done = run(runner, ops_cli, settings.db, "backup", str(tmp_path / "bk"))
    assert done.exit_code == 0, done.stderr
    assert "backup" in done.stdout and "schema version" in done.stdout
    again = run(runner, ops_cli, settings.db, "backup", str(tmp_path / "bk"))
    assert again.exit_code == 2 and "already exists; back up into a new folder" in again.stderr

    target = tmp_path / "restored.duckdb"
    ok = run(runner, ops_cli, target, "restore", str(tmp_path / "bk"))
    assert ok.exit_code == 0, ok.stderr
    assert f"into {target}" in ok.stdout


def test_restore_refuses_to_replace_a_store_without_force(
    ops_cli, settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    con = connect(settings.db)
    backup(con, tmp_path / "bk")
    ingest_file(con, settings, write_text(tmp_path / "new.csv", NEW))  # the store moves on
    con.close()
    before = settings.db.read_bytes()
    refused = run(runner, ops_cli, settings.db, "restore", str(tmp_path / "bk"))
    assert refused.exit_code == 2
    assert "already holds a store; restore into a new file (--db) or pass --force" in refused.stderr
    assert settings.db.read_bytes() == before

    forced = run(runner, ops_cli, settings.db, "restore", str(tmp_path / "bk"), "--force")
    assert forced.exit_code == 0, forced.stderr
    con = connect(settings.db)
    assert con.execute("SELECT count(*) FROM concerns").fetchone()[0] == 0  # back to the backup
    con.close()
    assert not list(tmp_path.glob(".*restoring*"))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip", "does not match its manifest (sha256): the backup is damaged"),
        ("no-manifest", "holds no manifest.json"),
        ("newer", "newer than this koban-geo knows"),
        ("not-json", "is damaged (not JSON)"),
        ("missing-file", "store.duckdb is missing"),
    ],
)
def test_restore_refuses_a_damaged_or_foreign_backup(
    ops_cli, settings: Settings, tmp_path: Path, damage: str, message: str
) -> None:
    con = connect(settings.db)
    backup(con, tmp_path / "bk")
    con.close()
    folder = tmp_path / "bk"
    manifest_path = folder / MANIFEST_FILE
    if damage == "flip":
        data = bytearray((folder / STORE_FILE).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (folder / STORE_FILE).write_bytes(bytes(data))
    elif damage == "no-manifest":
        manifest_path.unlink()
    elif damage == "newer":
        doc = json.loads(manifest_path.read_text())
        manifest_path.write_text(json.dumps({**doc, "schema_version": 999}))
    elif damage == "not-json":
        manifest_path.write_text("{")
    elif damage == "missing-file":
        (folder / STORE_FILE).unlink()
    target = tmp_path / "new.duckdb"
    result = run(CliRunner(), ops_cli, target, "restore", str(folder))
    assert result.exit_code == 2
    assert message in result.stderr
    assert not target.exists()
    assert not list(tmp_path.glob(".*restoring*"))


def test_backup_refuses_a_missing_store(ops_cli, tmp_path: Path) -> None:
    result = run(CliRunner(), ops_cli, tmp_path / "nope.duckdb", "backup", str(tmp_path / "bk"))
    assert result.exit_code == 2 and "no store at" in result.stderr
    assert not (tmp_path / "nope.duckdb").exists() and not (tmp_path / "bk").exists()


def test_a_failed_backup_leaves_no_folder(settings: Settings, tmp_path: Path, monkeypatch) -> None:
    import koban_geo.ops.maintenance as maintenance

    def broken(*args: object) -> dict:
        raise MaintenanceError("simulated failure after the copy")

    monkeypatch.setattr(maintenance, "_next_values", broken)
    con = connect(settings.db)
    try:
        with pytest.raises(MaintenanceError, match="simulated"):
            backup(con, tmp_path / "bk")
        assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".wal") == ["koban.duckdb"]
        assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal").fetchone()[0] == 1
    finally:
        con.close()
