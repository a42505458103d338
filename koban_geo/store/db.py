"""The DuckDB store file: connecting with the spatial extension offline and applying migrations (named SQL runs through `store.sql`)."""

from __future__ import annotations

import importlib.util
import re
import secrets
from pathlib import Path
from typing import Any

import duckdb

from koban_geo.store.recovery import needs_recovery, recover_torn_batches
from koban_geo.store.resources import sql_dir
from koban_geo.store.scope import bind_site
from koban_geo.store.sql import meta_get, meta_set, query, register_macros, transaction
from koban_geo.store.taxonomy import seed_taxonomy


class StoreError(RuntimeError):
    """A problem with the store that the user can act on; the message is one plain sentence."""


def spatial_extension_path() -> Path | None:
    """Path of the spatial extension shipped by the PyPI package duckdb-extension-spatial, if it matches."""
    spec = importlib.util.find_spec("duckdb_extension_spatial")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "extensions" / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    return path if path.is_file() else None


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Load the spatial extension without touching the network, or fail with one clear sentence."""
    path = spatial_extension_path()
    errors: list[str] = []
    if path is not None:
        try:
            con.execute(f"LOAD '{path.as_posix()}'")  # a path from our own package, not user input
            return
        except duckdb.Error as exc:
            errors.append(str(exc).splitlines()[0])
    try:
        con.execute("LOAD spatial")
        return
    except duckdb.Error as exc:
        errors.append(str(exc).splitlines()[0])
    raise StoreError(
        f"The DuckDB spatial extension could not be loaded for DuckDB {duckdb.__version__}: install the "
        f"matching 'duckdb-extension-spatial=={duckdb.__version__}' (run `make install`). "
        f"Details: {' | '.join(errors)}"
    )


def ensure_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Load spatial and its macros into a connection opened without it (`connect(spatial=False)`), when a
    step turns out to need it (e.g. building a study grid that is not stored yet). Harmless when loaded."""
    load_spatial(con)
    register_macros(con, spatial=True)


def _config(read_only: bool) -> dict[str, Any]:
    return {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "access_mode": "READ_ONLY" if read_only else "READ_WRITE",
    }


def connect(
    db: Path | str, *, read_only: bool = False, migrate: bool = True, spatial: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open the store (":memory:" for a throw-away one), load spatial, bring the schema up to date.

    A read-only open of a store with an older schema upgrades it first (a read-write open, then read-only).
    `spatial=False` skips loading the spatial extension (0.4-0.5 s of CPU) for work that reads no geometry
    function, such as the Gi* of stored study grids (ensure_spatial loads it later if a step needs it). Only
    reads, and writes to tables without a geometry index (audit_log, meta, study_grids), are safe then:
    DuckDB refuses writes to a table whose R-tree index it cannot bind. Migrations and repairs load it.
    """
    target = str(db)
    if target != ":memory:" and read_only and not Path(target).exists():
        raise StoreError(f"No KOBAN store at {target}: run `koban-geo init` or `koban-geo demo` first.")
    try:
        con = duckdb.connect(target, config=_config(read_only and target != ":memory:"))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreError(
                f"The store {target} is open in another process (probably the dashboard server); "
                "stop it or use the dashboard for this action."
            ) from exc
        raise StoreError(f"Cannot open the store {target}: {str(exc).splitlines()[0]}") from exc
    # DuckDB draws a bar on stdout for any statement over 2 s (LOAD spatial on a loaded machine): it would
    # break `--json` output and the first line a parent process reads (a global option cannot be set here)
    con.execute("SET enable_progress_bar = false")
    # one check (a scan of batch ids) where it decides something: a read-only open, or one without spatial
    writes = migrate and target != ":memory:" and (read_only or not spatial) and _needs_writing(con)
    if not spatial and (target == ":memory:" or writes):
        spatial = True  # a new store, a migration or a repair: they create and rewrite spatial tables
    if spatial:
        load_spatial(con)
    if read_only and writes:
        # made by an older koban-geo, or torn by a crash: upgrade or repair it once (a short write; refused
        # while a server holds the file, which repaired it when it opened it), so that read-only commands
        # never run today's queries on yesterday's schema, nor count rows of an uncommitted batch
        con.close()
        connect(target).close()
        return connect(target, read_only=True, migrate=False, spatial=spatial)
    if migrate and not read_only:
        apply_migrations(con)
        seed_taxonomy(con)
        # Rows of a batch whose commit a crash tore (DuckDB 1.5.5 replays a large insert of a cut commit)
        # go before anyone reads them: every process opens the store here, and a torn state can only come
        # from a process that has died. Audited as recover.torn_batches; a no-op costs one scan of batch ids
        # (without spatial, `writes` above found nothing to repair).
        if spatial:
            recover_torn_batches(con)
    register_macros(con, spatial=spatial)
    if migrate and not read_only:
        ensure_cell_keys(con)
    _bind_only_site(con)
    return con


def _bind_only_site(con: duckdb.DuckDBPyConnection) -> None:
    """A store with one site works in it without being told (store.scope); with several, a caller chooses."""
    if schema_version(con) < 12:
        return
    rows = con.execute("SELECT code FROM sites ORDER BY code LIMIT 2").fetchall()
    if len(rows) == 1:
        bind_site(con, rows[0][0])


def _needs_writing(con: duckdb.DuckDBPyConnection) -> bool:
    """A read-only open must first write: the schema is older than this code, or a crash left a torn batch."""
    return schema_version(con) < latest_version() or needs_recovery(con)


CELL_KEY_SALT = "cell_key_salt"


def ensure_cell_keys(con: duckdb.DuckDBPyConnection) -> bool:
    """Make the store's cell-key salt (32 random bytes, meta 'cell_key_salt') if it has none, and give every
    concern without record keys its keys (stores made before migration 0009); True when it did. The keys and
    the method are koban_geo.privacy.cellkey's; they are made here because every read-write open needs them."""
    if meta_get(con, CELL_KEY_SALT) is not None:
        return False
    with transaction(con):
        meta_set(con, CELL_KEY_SALT, secrets.token_hex(32))
        query(con, "cellkey_fill")
    return True


_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def migrations() -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted((sql_dir() / "migrations").glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise StoreError(f"Migration file {path.name} must be named NNNN_name.sql")
        found.append((int(match.group(1)), match.group(2), path))
    return found


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations newer than the store's schema version, each in its own transaction."""
    current = schema_version(con)
    applied = []
    for version, name, path in migrations():
        if version <= current:
            continue
        with transaction(con):
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, now())", [version, name]
            )
        applied.append(version)
    return applied


def latest_version() -> int:
    found = migrations()
    return found[-1][0] if found else 0
