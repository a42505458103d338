"""Keeping a store over the years: consistent backups, restores into a new file, and retention purges.

manifest = backup(con, Path("backups/2026-11-24"))      # runs inside the process that holds the store
restore(Path("backups/2026-11-24"), Path("koban.duckdb"))  # into a new file; force=True to replace one
report = purge(con, settings)                            # dry run: what would go, per month and theme
report = purge(con, settings, apply=True)                # archive aggregates, delete, record: one transaction

See docs/operations.md for what each keeps and why.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from koban_geo import __version__
from koban_geo.store.db import StoreError, connect, latest_version, load_spatial, migrations
from koban_geo.store.hashing import file_sha256
from koban_geo.store.recovery import rebuild_indexes, without_rtree
from koban_geo.store.scope import site_of
from koban_geo.store.settings import Settings
from koban_geo.store.sql import audit, plain_cursor, query, quote_ident, writing

BACKUP_FORMAT = "koban-geo-backup"
BACKUP_FORMAT_VERSION = 1
STORE_FILE = "store.duckdb"
MANIFEST_FILE = "manifest.json"


class MaintenanceError(StoreError):
    """A backup, restore or purge that cannot go ahead; the message says why and what to do."""


# ---------------------------------------------------------------------------------------------- backup


def _literal(text: str) -> str:
    """A SQL string literal (quotes doubled), for the one statement that takes no bound value: ATTACH."""
    return "'" + text.replace("'", "''") + "'"


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' "
        "AND NOT temporary ORDER BY table_name",
        [database],
    ).fetchall()
    return [r[0] for r in rows]


def _row_counts(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    counts = {}
    for table in _tables(con, database):  # names from the catalogue, quoted
        row = con.execute(
            f"SELECT count(*) FROM {quote_ident(database)}.main.{quote_ident(table)}"
        ).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def _next_values(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    """The value each sequence hands out next, for a database opened afresh (no nextval since).

    Only then is it the start_value DuckDB reports: after a nextval in the session, start_value and
    last_value no longer tell the next value apart from the last one given.
    """
    rows = con.execute(
        "SELECT sequence_name, start_value FROM duckdb_sequences() "
        "WHERE database_name = ? AND NOT temporary ORDER BY sequence_name",
        [database],
    ).fetchall()
    return {name: int(start) for name, start in rows}


def _version_of(con: duckdb.DuckDBPyConnection, database: str) -> int:
    if "schema_version" not in _tables(con, database):
        return 0
    row = con.execute(
        f"SELECT coalesce(max(version), 0) FROM {quote_ident(database)}.main.schema_version"
    ).fetchone()
    return int(row[0]) if row else 0


def backup(
    con: duckdb.DuckDBPyConnection, path: Path | str, *, actor: str = "cli", audited: bool = True
) -> dict[str, Any]:
    """Write a consistent copy of the store to the new folder `path` (store.duckdb + manifest.json).

    Runs through the connection of the process that holds the store (the dashboard server, or the CLI), on a
    cursor of its own: one read transaction copies every table, sequence and index (DuckDB's
    COPY FROM DATABASE into an attached new file), so writers carry on and the copy is one committed state.
    The folder appears only when complete (it is written beside it under a hidden name, then renamed).
    Returns the manifest: schema version, row count per table, next value per sequence, sha256 per file.
    """
    target = Path(path).absolute()
    if target.exists():
        raise MaintenanceError(f"{target} already exists; back up into a new folder")
    if not target.parent.is_dir():
        raise MaintenanceError(f"{target.parent} is not a folder; create it first")
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    except OSError as exc:
        raise MaintenanceError(f"cannot write into {target.parent}: {exc.strerror or exc}") from exc
    alias = f"koban_backup_{secrets.token_hex(6)}"
    cur = con.cursor()
    try:
        database = str(cur.execute("SELECT current_database()").fetchone()[0])  # type: ignore[index]
        started = datetime.now()
        try:
            cur.execute("BEGIN TRANSACTION")
            try:
                cur.execute(f"ATTACH {_literal(str(work / STORE_FILE))} AS {alias}")
                cur.execute(f"COPY FROM DATABASE {quote_ident(database)} TO {alias}")
                tables = _row_counts(cur, database)
                version = _version_of(cur, database)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            cur.execute(f"CHECKPOINT {alias}")
            cur.execute(f"DETACH {alias}")
            # Sequences are read back from the copy opened afresh (see _next_values). A sequence is not
            # transactional: the copy holds its counter at the time of the copy, never below an id it holds.
            cur.execute(f"ATTACH {_literal(str(work / STORE_FILE))} AS {alias} (READ_ONLY)")
            sequences = _next_values(cur, alias)
        finally:
            cur.execute(f"DETACH DATABASE IF EXISTS {alias}")
        manifest = {
            "format": BACKUP_FORMAT,
            "format_version": BACKUP_FORMAT_VERSION,
            "created_at": started.isoformat(timespec="seconds"),
            "koban_geo_version": __version__,
            "duckdb_version": duckdb.__version__,
            "schema_version": version,
            "tables": tables,
            "sequences": sequences,
            "files": {STORE_FILE: {"sha256": file_sha256(work / STORE_FILE),
                                   "bytes": (work / STORE_FILE).stat().st_size}},
        }  # fmt: skip
        leftovers = sorted(p.name for p in work.iterdir() if p.name != STORE_FILE)
        if leftovers:  # e.g. a WAL: the copy would not be one file
            raise MaintenanceError(f"backup left unexpected files ({', '.join(leftovers)}); nothing was kept")
        _write_json(work / MANIFEST_FILE, manifest)
        _fsync_dir(work)
        work.rename(target)
        _fsync_dir(target.parent)
    except duckdb.Error as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise MaintenanceError(f"backup to {target} failed: {str(exc).splitlines()[0]}") from exc
    except OSError as exc:  # disk full, a folder that refuses files
        shutil.rmtree(work, ignore_errors=True)
        raise MaintenanceError(f"backup to {target} failed: {exc.strerror or exc}; nothing was kept") from exc
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        cur.close()
    if audited:
        with writing(con) as w:
            audit(
                w, actor, "backup", f"{target.name}: schema {version}, {tables.get('concerns', 0)} concerns"
            )
    return manifest


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------- restore


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest of backup folder `path`, after checking every file against it (sha256 and size)."""
    folder = Path(path)
    manifest_path = folder / MANIFEST_FILE
    if not folder.is_dir():
        raise MaintenanceError(f"{folder} is not a backup folder (made by `koban-geo backup`)")
    if not manifest_path.is_file():
        raise MaintenanceError(
            f"{folder} holds no {MANIFEST_FILE}: not a koban-geo backup, or an unfinished one"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MaintenanceError(f"{manifest_path} is damaged (not JSON): {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise MaintenanceError(f"{manifest_path} is not a koban-geo backup manifest")
    if manifest.get("format_version") != BACKUP_FORMAT_VERSION:
        raise MaintenanceError(
            f"{folder}: backup format {manifest.get('format_version')!r} is not one this koban-geo reads "
            f"({BACKUP_FORMAT_VERSION}); restore it with the koban-geo version that made it"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or STORE_FILE not in files:
        raise MaintenanceError(f"{manifest_path} lists no {STORE_FILE}")
    _check_manifest_shape(manifest_path, manifest)
    for name, facts in files.items():
        file = folder / name
        if Path(name).name != name or not file.is_file():
            raise MaintenanceError(f"{folder}: {name} is missing; the backup is incomplete")
        if file.stat().st_size != facts.get("bytes") or file_sha256(file) != facts.get("sha256"):
            raise MaintenanceError(
                f"{folder}: {name} does not match its manifest (sha256): the backup is damaged; use another"
            )
    return manifest


def _check_manifest_shape(manifest_path: Path, manifest: dict[str, Any]) -> None:
    """Every member the restore reads has its type: a damaged or edited manifest is refused, field named."""

    def counts(value: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in value.items()
        )

    version = manifest.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise MaintenanceError(f"{manifest_path}: schema_version: expected a whole number, got {version!r}")
    for key in ("tables", "sequences"):
        if not counts(manifest.get(key)):
            raise MaintenanceError(f"{manifest_path}: {key}: expected names with whole-number counts")
    for name, facts in manifest["files"].items():
        if (
            not isinstance(facts, dict)
            or not isinstance(facts.get("sha256"), str)
            or not isinstance(facts.get("bytes"), int)
        ):
            raise MaintenanceError(
                f'{manifest_path}: files: {name!r}: expected {{"sha256": ..., "bytes": ...}}, got {facts!r:.60}'
            )


def _lock_free(db: Path) -> None:
    """Fail with a plain sentence when another process holds `db` (the server): it must not be replaced."""
    try:
        con = duckdb.connect(str(db), config={"autoload_known_extensions": False})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise MaintenanceError(
                f"{db} is open in another process (probably the dashboard server); stop it before restoring"
            ) from exc
        raise MaintenanceError(f"{db} cannot be opened: {str(exc).splitlines()[0]}") from exc
    except duckdb.Error as exc:
        raise MaintenanceError(f"{db} is not a DuckDB store: {str(exc).splitlines()[0]}") from exc
    try:
        load_spatial(con)  # its WAL may hold spatial index entries: checkpoint with the extension loaded
    finally:
        con.close()


def restore(
    path: Path | str,
    target_db: Path | str,
    *,
    force: bool = False,
    actor: str = "cli",
    action: str = "restore",
) -> dict[str, Any]:
    """Restore backup folder `path` into the store file `target_db`, then bring its schema up to date.

    Refuses to replace an existing store unless `force` (and never one another process holds). The backup is
    checked against its manifest (sha256 of the file; then the row count of every table and the next value of
    every sequence once opened) before the target is touched; the new file takes the target's name only when
    complete. Returns the manifest plus "migrated": the migrations applied after the restore.
    """
    manifest = read_manifest(path)
    source = Path(path) / STORE_FILE
    target = Path(target_db).absolute()
    wal = target.with_name(target.name + ".wal")
    version = int(manifest.get("schema_version", 0))
    if version > latest_version():
        raise MaintenanceError(
            f"the backup has schema version {version}, newer than this koban-geo knows ({latest_version()}); "
            "restore it with a newer koban-geo"
        )
    if target.exists():
        if not force:
            raise MaintenanceError(
                f"{target} already holds a store; restore into a new file (--db) or pass --force to replace it"
            )
        _lock_free(target)  # also checkpoints the old store, so no WAL of it is left behind
    if not target.parent.is_dir():
        raise MaintenanceError(f"{target.parent} is not a folder; create it first")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restoring", dir=target.parent)
    os.close(fd)
    work = Path(tmp_name)
    try:
        shutil.copyfile(source, work)
        os.chmod(work, target.stat().st_mode & 0o777 if target.exists() else _default_mode())
        with _open_plain(work) as con:
            _check_against(con, manifest, path)
        if wal.exists():
            wal.unlink()  # a WAL beside the new file would be replayed into it
        os.replace(work, target)
        _fsync_dir(target.parent)
    finally:
        work.unlink(missing_ok=True)
        Path(f"{work}.wal").unlink(missing_ok=True)
    con = connect(target)  # runs the migrations newer than the backup
    try:
        migrated = [v for v, _, _ in _migrations_after(version)]
        with writing(con) as w:
            audit(w, actor, action, f"from backup of {manifest.get('created_at')} (schema {version})")
    finally:
        con.close()
    return {**manifest, "migrated": migrated}


def compact(db: Path | str, *, actor: str = "cli") -> tuple[int, int]:
    """Rewrite the store file with its live rows only; returns its size in bytes before and after.

    DuckDB marks deleted rows and reuses their space later, so after a purge the purged text can still be read
    from the file's bytes. A backup holds live rows only: this backs up into a hidden folder beside the store
    and restores over it. The store must be free (stop the dashboard server first).
    """
    target = Path(db).absolute()
    if not target.is_file():
        raise MaintenanceError(f"no store at {target}")
    _lock_free(target)
    before = target.stat().st_size
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".compact", dir=target.parent))
    try:
        con = connect(target, migrate=False)
        try:
            backup(con, work / "backup", actor=actor, audited=False)
        finally:
            con.close()
        restore(work / "backup", target, force=True, actor=actor, action="compact")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return before, target.stat().st_size


def _default_mode() -> int:
    """What a new file gets (as `koban-geo init` would create it): 0o666 less the umask.

    The umask is read from /proc (os.umask would change it for every thread of a server for a moment).
    """
    umask = 0o022
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o666 & ~umask


def _migrations_after(version: int) -> list[tuple[int, str, Path]]:
    return [m for m in migrations() if m[0] > version]


@contextmanager
def _open_plain(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store without migrations or taxonomy seeding (exactly what the backup holds)."""
    try:
        con = duckdb.connect(
            str(db), config={"autoload_known_extensions": False, "autoinstall_known_extensions": False}
        )
    except duckdb.Error as exc:
        raise MaintenanceError(
            f"the backup's {STORE_FILE} cannot be opened: {str(exc).splitlines()[0]}"
        ) from exc
    try:
        load_spatial(con)
        yield con
    finally:
        con.close()


def _check_against(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any], path: Path | str) -> None:
    database = str(con.execute("SELECT current_database()").fetchone()[0])  # type: ignore[index]
    counts = _row_counts(con, database)
    if counts != manifest.get("tables"):
        differ = sorted(t for t in set(counts) | set(manifest.get("tables", {}))
                        if counts.get(t) != manifest.get("tables", {}).get(t))  # fmt: skip
        raise MaintenanceError(f"{path}: the backup's tables do not match its manifest ({', '.join(differ)})")
    if _next_values(con, database) != manifest.get("sequences"):
        raise MaintenanceError(f"{path}: the backup's sequences do not match its manifest")
    if _version_of(con, database) != manifest.get("schema_version"):
        raise MaintenanceError(f"{path}: the backup's schema version does not match its manifest")


# ---------------------------------------------------------------------------------------------- purge


@dataclass
class PurgeReport:
    """What a purge deletes (dry run) or deleted (applied). Months are 'YYYY-MM'."""

    now: datetime
    concerns_before: datetime
    audit_before: datetime
    concerns: int = 0
    audit: int = 0
    by_month_theme: dict[str, dict[str, int]] = field(default_factory=dict)
    split_groups: int = 0
    archive_rows: int = 0
    applied: bool = False
    purge_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("now", "concerns_before", "audit_before"):
            out[key] = out[key].isoformat(timespec="seconds")
        return out


def month_cutoff(now: datetime, months: int) -> datetime:
    """The first of the month `months` calendar months before `now`'s month: what is older goes.

    Whole months go, so a purge never splits a month between the archive and the live table, and a concern
    is kept at least `months` months: one from 2024-10-15 goes with retention 24 on or after 2026-11-01.
    """
    index = now.year * 12 + (now.month - 1) - months
    return datetime(index // 12, index % 12 + 1, 1)


def _local_now(now: datetime | None, settings: Settings) -> datetime:
    if now is None:
        return datetime.now()
    if now.tzinfo is not None:  # stored timestamps are naive wall-clock time in the store's zone
        return now.astimezone(ZoneInfo(settings.timezone)).replace(tzinfo=None)
    return now


def purge(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    now: datetime | None = None,
    apply: bool = False,
    *,
    actor: str = "cli",
) -> PurgeReport:
    """Concerns older than settings.retention_months (whole calendar months) and audit_log rows older than
    settings.audit_retention_months: a dry run reports them; `apply` deletes them in one transaction.

    Before concerns are deleted their aggregates go to concern_archive (month, theme, area, snapped place:
    counts of reports and of groups; no text, no ids), so counts published earlier stay reproducible. The
    transaction also adds to ingest_batches.rows_purged, and writes a purge_log row and an audit_log row.
    """
    at = _local_now(now, settings)
    report = PurgeReport(
        now=at,
        concerns_before=month_cutoff(at, settings.retention_months),
        audit_before=month_cutoff(at, settings.audit_retention_months),
    )
    params = {"concerns_before": report.concerns_before, "audit_before": report.audit_before}
    if not apply:
        cur = plain_cursor(con)
        try:
            cur.execute("BEGIN TRANSACTION")  # one snapshot for every count
            _measure(cur, report, params)
            cur.execute("COMMIT")
        finally:
            cur.close()
        return report
    rebuild_indexes(con)
    _measure(con, report, params)
    if report.concerns:
        with without_rtree(con, "concerns"):
            _apply(con, settings, report, params, actor)
    else:
        _apply(con, settings, report, params, actor)
    report.applied = True
    return report


def _apply(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    report: PurgeReport,
    params: dict[str, Any],
    actor: str,
) -> None:
    """The purge itself: one transaction under the process's write lock."""
    report.by_month_theme = {}
    with writing(con) as cur:
        _measure(cur, report, params)  # again, under the lock: what is deleted is what is recorded
        row = cur.execute("SELECT nextval('purge_log_id')").fetchone()
        assert row is not None
        report.purge_id = int(row[0])
        before_archive = _archive_rows(cur)
        query(cur, "purge_archive", {**params, "purge_id": report.purge_id})
        report.archive_rows = _archive_rows(cur) - before_archive
        query(cur, "purge_batches", params)
        deleted = _count(cur, query(cur, "purge_concerns", params))
        audit_deleted = _count(cur, query(cur, "purge_audit", params))
        if deleted != report.concerns or audit_deleted != report.audit:  # a writer outside the lock
            raise MaintenanceError("the store changed during the purge; nothing was purged, run it again")
        detail = {"by_month_theme": report.by_month_theme, "split_groups": report.split_groups}
        query(cur, "purge_log_insert", {
            "id": report.purge_id, "actor": actor, **params,
            "retention_months": settings.retention_months,
            "audit_retention_months": settings.audit_retention_months,
            "concerns_deleted": report.concerns, "audit_deleted": report.audit,
            "archive_rows": report.archive_rows, "detail": json.dumps(detail, sort_keys=True),
        })  # fmt: skip
        audit(
            cur,
            actor,
            "purge",
            f"purge {report.purge_id}: {report.concerns} concerns reported before "
            f"{report.concerns_before:%Y-%m-%d}, {report.audit} audit rows logged before "
            f"{report.audit_before:%Y-%m-%d}",
        )


def _measure(cur: duckdb.DuckDBPyConnection, report: PurgeReport, params: dict[str, Any]) -> None:
    for month, theme, n in query(cur, "purge_preview", params).fetchall():
        report.by_month_theme.setdefault(month, {})[theme] = int(n)
    report.concerns = sum(n for themes in report.by_month_theme.values() for n in themes.values())
    report.audit = _count(cur, query(cur, "purge_audit_count", params))
    report.split_groups = _count(cur, query(cur, "purge_split_groups", params))


def _count(cur: duckdb.DuckDBPyConnection, result: Any) -> int:
    if isinstance(result, str):
        result = cur.execute(result)
    row = result.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _archive_rows(cur: duckdb.DuckDBPyConnection) -> int:
    """Rows of the connection's site in concern_archive."""
    return _count(cur, cur.execute("SELECT count(*) FROM concern_archive WHERE site = ?", [site_of(cur)]))
