"""`koban-geo doctor`: is this installation ready to run? Each check says what it found and how to fix it.

for check in run_checks(get_settings()):
    print("✓" if check.ok else "✗", check.name, check.message, check.fix)

Checks only read: the store is opened read-only and never migrated here.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import duckdb

from koban_geo.store.db import latest_version, load_spatial, spatial_extension_path
from koban_geo.store.hashing import file_sha256
from koban_geo.store.settings import Settings
from koban_geo.store.sql import query

PYTHON = (3, 11)  # pyproject: requires-python >=3.11,<3.12


@dataclass(frozen=True)
class Check:
    """One finding. `fix` is the action to take when not ok; for an ok check it may hold advice, or ''."""

    name: str
    ok: bool
    message: str
    fix: str = ""


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a person would fix them."""
    return [
        check_python(),
        check_duckdb(),
        *check_store(settings),
        check_assets(),
        check_folder(settings),
        check_tiles(settings),
    ]


def check_python() -> Check:
    found = ".".join(str(n) for n in sys.version_info[:3])
    ok = sys.version_info[:2] == PYTHON
    return Check(
        "Python",
        ok,
        f"Python {found}"
        + ("" if ok else f", but koban-geo is built and tested for {PYTHON[0]}.{PYTHON[1]}"),
        "" if ok else f"install Python {PYTHON[0]}.{PYTHON[1]} and run `make install` again",
    )


def check_duckdb() -> Check:
    """DuckDB and the spatial extension wheel must be the same version, and the extension must load offline."""
    name = "DuckDB and spatial"
    fix = f"run `make install` (it pins duckdb and duckdb-extension-spatial to the same version, {duckdb.__version__})"
    try:
        wheel = metadata.version("duckdb-extension-spatial")
    except metadata.PackageNotFoundError:
        return Check(name, False, "the package duckdb-extension-spatial is not installed", fix)
    if wheel != duckdb.__version__ or spatial_extension_path() is None:
        return Check(
            name,
            False,
            f"DuckDB is {duckdb.__version__} but the spatial extension wheel is {wheel}: "
            "the extension loads only into the DuckDB it was built for",
            fix,
        )
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
    try:
        load_spatial(con)
    except Exception as exc:  # StoreError, or a broken binary
        return Check(name, False, f"the spatial extension does not load: {exc}", fix)
    finally:
        con.close()
    return Check(name, True, f"DuckDB {duckdb.__version__} with its spatial extension, loaded offline")


def check_store(settings: Settings) -> list[Check]:
    """The store opens (or the server holds it), its schema is the latest, every batch is whole, and no
    spatial index is missing after an interrupted purge. Opened read-only: nothing is migrated or repaired."""
    db = Path(settings.db)

    def cannot(
        message: str, fix: str, ok: bool = False, why: str = "the store could not be opened"
    ) -> list[Check]:
        return [Check("Store", ok, message, fix)] + [
            Check(name, True, f"not checked: {why}") for name in ("Schema", "Batches", "Spatial indexes")
        ]

    if not db.exists():
        return cannot(
            f"no store at {db}", "run `koban-geo init` for an empty store, or `koban-geo demo` for the demo"
        )
    if not _looks_like_duckdb(db):
        return cannot(f"{db} is not a DuckDB store file", "use --db (or KOBAN_DB) to name the store")
    try:
        con = duckdb.connect(str(db), config={"access_mode": "READ_ONLY", "autoload_known_extensions": False})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return cannot(f"{db} is open in another process (probably the dashboard server)", "", ok=True,
                          why="another process holds the store")  # fmt: skip
        return cannot(f"{db} cannot be opened: {_first_line(exc)}", _restore_fix())
    except duckdb.Error as exc:
        return cannot(f"{db} is not a DuckDB store: {_first_line(exc)}", _restore_fix())
    try:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()
        }
        if "schema_version" not in tables:
            return cannot(
                f"{db} is a DuckDB file but not a KOBAN store", "use --db (or KOBAN_DB) to name the store"
            )
        row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
        version = int(row[0]) if row else 0
        data = _check_data(con, version)
    except duckdb.Error as exc:
        return cannot(f"{db} cannot be read: {_first_line(exc)}", _restore_fix())
    finally:
        con.close()
    return [Check("Store", True, f"{db} opens"), _check_schema(version), *data]


def _check_schema(version: int) -> Check:
    latest = latest_version()
    if version == latest:
        return Check("Schema", True, f"schema version {version}, the latest")
    if version < latest:
        return Check(
            "Schema",
            False,
            f"schema version {version}, but this koban-geo needs {latest}",
            "back up (`koban-geo backup PATH`), then run `koban-geo init` to apply the migrations",
        )
    return Check(
        "Schema",
        False,
        f"schema version {version} is newer than this koban-geo knows ({latest})",
        "install the newer koban-geo that made the store",
    )


def _check_data(con: duckdb.DuckDBPyConnection, version: int) -> list[Check]:
    """Every concerns batch holds exactly the rows it recorded (less those purged), no row lacks its batch,
    and no spatial index waits to be rebuilt (koban_geo.store.recovery)."""
    if version < 6:
        return [
            Check(name, True, "not checked until the schema is up to date")
            for name in ("Batches", "Spatial indexes")
        ]
    row = query(con, "purge_batch_integrity").fetchone()
    bad, orphans = (int(row[0]), int(row[1])) if row else (0, 0)
    if orphans and orphans == bad:
        batches = Check(
            "Batches",
            False,
            f"rows of {orphans} batch(es) have no batch record: a crash cut an ingest's commit short",
            "open the store read-write once (restart the dashboard, or run the interrupted `koban-geo ingest` "
            "again): every open removes those rows first",
        )
    elif bad:
        batches = Check(
            "Batches",
            False,
            f"{bad} concerns batch(es) do not hold the rows they recorded",
            _restore_fix(),
        )
    else:
        batches = Check("Batches", True, "every concerns batch holds the rows it recorded")
    pending = con.execute("SELECT value FROM meta WHERE key = 'pending_indexes'").fetchone()
    if pending:
        indexes = Check(
            "Spatial indexes",
            False,
            "a purge was interrupted before it rebuilt the concerns' spatial index (maps are slower without it)",
            "run `koban-geo purge --apply` again, or any `koban-geo ingest`: both rebuild it first",
        )
    else:
        indexes = Check("Spatial indexes", True, "in place")
    return [batches, indexes]


def check_assets() -> Check:
    """The map's JavaScript and CSS, served from the dashboard's static folder (no CDN on a closed network)."""
    from koban_geo.store.resources import app_path

    name = "Map assets"
    try:
        app = app_path()
    except FileNotFoundError as exc:
        return Check(name, False, str(exc), "set KOBAN_APP to the dashboard's app.py, or reinstall koban-geo")
    manifest = app.parent / "static" / "vendor" / "MANIFEST.json"
    fix = "run `make assets` (it fetches the map libraries once and checks their sha256)"
    if not manifest.is_file():
        return Check(name, False, f"no {manifest}", fix)
    try:
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files")
    except (ValueError, AttributeError):
        files = None
    if not isinstance(files, dict):
        return Check(name, False, f'{manifest} is damaged (expected {{"files": {{path: sha256}}}})', fix)
    root = manifest.parent.resolve()
    missing, changed = [], []
    for rel, digest in sorted(files.items()):
        path = (root / rel).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            missing.append(rel)
        elif file_sha256(path) != digest:
            changed.append(rel)
    if missing or changed:
        parts = ([f"missing: {', '.join(missing[:5])}"] if missing else []) + (
            [f"changed: {', '.join(changed[:5])}"] if changed else []
        )
        return Check(
            name,
            False,
            f"{len(missing) + len(changed)} of {len(files)} files not as listed ({'; '.join(parts)})",
            fix,
        )
    return Check(name, True, f"{len(files)} files present, as listed in {manifest.name}")


def check_folder(settings: Settings) -> Check:
    """DuckDB writes a WAL file beside the store: its folder must be writable, not only the file."""
    folder = Path(settings.db).absolute().parent
    name = "Store folder"
    if not folder.is_dir():
        return Check(
            name, False, f"{folder} does not exist", f"create it (mkdir -p {folder}) or set KOBAN_DB"
        )
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".koban-doctor-"):
            pass
    except OSError as exc:
        return Check(
            name,
            False,
            f"{folder} is not writable ({exc.strerror})",
            f"give the user running koban-geo ({_user()}) write access to {folder}",
        )
    return Check(name, True, f"{folder} is writable")


def check_tiles(settings: Settings) -> Check:
    """Always ok; says where the base map comes from: a tile server (which may need the internet), the
    offline basemap the dashboard serves itself, or nothing but the store's streets."""
    url = settings.tiles_url
    if not url:
        from koban_geo.basemap import archive_path

        path = archive_path(settings)
        if path.is_file():
            return Check(
                "Base map", True, f"no tile server: the offline basemap {path}, served by the dashboard"
            )
        return Check(
            "Base map",
            True,
            "no tile server and no offline basemap: the map draws areas and streets only",
            "build the offline basemap from an OpenStreetMap extract of your area: "
            f"`koban-geo basemap build EXTRACT.osm.pbf` (written to {path})",
        )
    if url.startswith("/") or "://localhost" in url or "://127.0.0.1" in url:
        return Check("Base map", True, f"tiles from this machine ({url})")
    return Check(
        "Base map",
        True,
        f"tiles from {url.split('/{z}')[0]}: every browser showing the map needs internet access to it",
        "on a closed network set KOBAN_TILES_URL= (empty) to draw the offline basemap "
        "(`koban-geo basemap build`), or point it at a local tile server",
    )


def _looks_like_duckdb(db: Path) -> bool:
    """DuckDB files carry the magic bytes 'DUCK' at offset 8."""
    try:
        with db.open("rb") as fh:
            return fh.read(12)[8:12] == b"DUCK"
    except OSError:
        return True  # let DuckDB say what is wrong


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _restore_fix() -> str:
    return "restore the latest backup into a new file (`koban-geo --db NEW restore BACKUP`)"


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return "this user"
