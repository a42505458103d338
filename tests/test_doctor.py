"""`koban-geo doctor`: each failure mode is named, with its fix, and makes the command exit 1."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import koban_geo.ops.doctor as doctor
from koban_geo.ops.doctor import Check, run_checks
from koban_geo.store.db import connect, latest_version
from koban_geo.store.settings import Settings
from tests.helpers import add_concerns


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dashboard folder with complete map assets, used through KOBAN_APP."""
    root = tmp_path / "dashboard"
    vendor = root / "static" / "vendor"
    (vendor / "leaflet").mkdir(parents=True)
    (root / "app.py").write_text("# app\n")
    files = {"leaflet/leaflet.js": b"L = {};\n", "leaflet/leaflet.css": b".leaflet {}\n"}
    for rel, data in files.items():
        (vendor / rel).write_bytes(data)
    manifest = {"files": {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}}
    (vendor / "MANIFEST.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("KOBAN_APP", str(root / "app.py"))
    return root


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_healthy_installation_passes_every_check(settings: Settings, app: Path) -> None:
    checks = run_checks(settings)
    assert [c.name for c in checks] == ["Python", "DuckDB and spatial", "Store", "Schema", "Batches",
                                        "Spatial indexes", "Map assets", "Store folder", "Base map"]  # fmt: skip
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    found = by_name(checks)
    assert found["Schema"].message == f"schema version {latest_version()}, the latest"
    assert found["Map assets"].message == "2 files present, as listed in MANIFEST.json"


def test_missing_store(tmp_path: Path, app: Path) -> None:
    settings = Settings(db=tmp_path / "nope.duckdb")
    store = by_name(run_checks(settings))["Store"]
    assert not store.ok and "no store at" in store.message and "koban-geo init" in store.fix
    assert not (tmp_path / "nope.duckdb").exists()  # the doctor creates nothing


def test_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "meldingen.csv"
    path.write_text("id,date\n1,2025-01-01\n")
    store = doctor.check_store(Settings(db=path))[0]
    assert not store.ok and store.message.endswith("is not a DuckDB store file")


def test_an_old_schema_says_back_up_then_migrate(settings: Settings) -> None:
    con = connect(settings.db)
    con.execute("DELETE FROM schema_version WHERE version = ?", [latest_version()])
    con.close()
    schema = by_name(doctor.check_store(settings))["Schema"]
    assert not schema.ok
    assert (
        schema.message
        == f"schema version {latest_version() - 1}, but this koban-geo needs {latest_version()}"
    )
    assert "koban-geo backup" in schema.fix and "koban-geo init" in schema.fix


def test_a_newer_schema(settings: Settings) -> None:
    con = connect(settings.db)
    con.execute("INSERT INTO schema_version VALUES (999, 'future', now())")
    con.close()
    schema = by_name(doctor.check_store(settings))["Schema"]
    assert not schema.ok and "newer than this koban-geo knows" in schema.message


def test_rows_without_their_batch_and_a_missing_index(settings: Settings) -> None:
    con = connect(settings.db)
    row = {"id": "1", "reported_at": "2025-01-01", "theme": "noise", "lon": 24.94, "lat": 60.17}
    add_concerns(con, [row], source="s", batch_id=42, with_batch=False, with_keys=False)  # a torn batch's row
    con.execute("INSERT INTO meta VALUES ('pending_indexes', '[]')")
    con.close()
    found = by_name(doctor.check_store(settings))
    assert not found["Batches"].ok and "no batch record" in found["Batches"].message
    assert "ingest` again" in found["Batches"].fix
    assert not found["Spatial indexes"].ok and "purge --apply" in found["Spatial indexes"].fix


def test_missing_assets_say_make_assets(settings: Settings, app: Path) -> None:
    vendor = app / "static" / "vendor"
    (vendor / "leaflet" / "leaflet.css").unlink()
    (vendor / "leaflet" / "leaflet.js").write_bytes(b"changed")
    assets = by_name(run_checks(settings))["Map assets"]
    assert not assets.ok
    assert (
        assets.message
        == "2 of 2 files not as listed (missing: leaflet/leaflet.css; changed: leaflet/leaflet.js)"
    )
    assert "make assets" in assets.fix
    (vendor / "MANIFEST.json").unlink()
    assets = by_name(run_checks(settings))["Map assets"]
    assert not assets.ok and assets.message.startswith("no ") and "make assets" in assets.fix


def test_a_manifest_cannot_point_outside_its_folder(app: Path) -> None:
    (app / "secret.txt").write_text("x")
    manifest = {"files": {"../../secret.txt": hashlib.sha256(b"x").hexdigest()}}
    (app / "static" / "vendor" / "MANIFEST.json").write_text(json.dumps(manifest))
    assets = doctor.check_assets()
    assert not assets.ok and "missing: ../../secret.txt" in assets.message


def test_no_dashboard_at_koban_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOBAN_APP", str(tmp_path / "nowhere" / "app.py"))
    assets = doctor.check_assets()
    assert not assets.ok and "dashboard not found" in assets.message and "KOBAN_APP" in assets.fix


def test_store_folder_must_exist(tmp_path: Path) -> None:
    folder = doctor.check_folder(Settings(db=tmp_path / "gone" / "k.duckdb"))
    assert not folder.ok and "does not exist" in folder.message and "mkdir" in folder.fix


def test_duckdb_and_spatial_versions_must_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.metadata, "version", lambda name: "0.0.1")
    found = doctor.check_duckdb()
    assert (
        not found.ok and "spatial extension wheel is 0.0.1" in found.message and "make install" in found.fix
    )


def test_python_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "PYTHON", (3, 99))
    found = doctor.check_python()
    assert not found.ok and "tested for 3.99" in found.message


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "needs internet access"),
        ("", "no tile server"),
        ("/tiles/{z}/{x}/{y}.png", "tiles from this machine"),
    ],
)
def test_tiles_are_explained_not_failed(tmp_path: Path, url: str, says: str) -> None:
    tiles = doctor.check_tiles(Settings(db=tmp_path / "k.duckdb", tiles_url=url))
    assert tiles.ok and says in tiles.message
    assert ("KOBAN_TILES_URL=" in tiles.fix) == (says == "needs internet access")


def test_a_store_held_by_the_server_is_said_so(settings: Settings) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from koban_geo.store.db import connect; c = connect(sys.argv[1]); print('ready', flush=True); "
         "time.sleep(60)", str(settings.db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        found = by_name(doctor.check_store(settings))
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert (
        found["Store"].ok
        and "open in another process (probably the dashboard server)" in found["Store"].message
    )
    assert found["Schema"].ok and "another process holds the store" in found["Schema"].message


def test_cli_prints_marks_and_fixes_and_exits_1_on_failure(ops_cli, tmp_path: Path, app: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(ops_cli, ["--db", str(tmp_path / "nope.duckdb"), "doctor"])
    assert bad.exit_code == 1
    assert "✗ Store: no store at" in bad.stdout
    assert "    fix: run `koban-geo init`" in bad.stdout
    assert "✓ Python: Python 3.11" in bad.stdout
    assert "failed: Store" in bad.stdout.splitlines()[-1]


def test_cli_exits_0_when_all_is_well(ops_cli, settings: Settings, app: Path) -> None:
    good = CliRunner().invoke(ops_cli, ["--db", str(settings.db), "doctor"])
    assert good.exit_code == 0, good.stdout
    assert "✗" not in good.stdout and "    tip: build the offline basemap" in good.stdout
