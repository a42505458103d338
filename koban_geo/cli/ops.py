"""Operations commands: backup, restore, purge and doctor (registered on the main group by koban_geo.cli.main).

Each takes the CLI context object (`.settings`, `.connect()`) and calls one library function; exit status 2
means nothing was done (bad input or a refusal), as for `ingest`.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import duckdb

from koban_geo.cli.common import fail


def _open_unmigrated(obj: Any) -> duckdb.DuckDBPyConnection:
    """The store as it is (no migrations): a backup must copy what is there, e.g. before an upgrade."""
    from koban_geo.store.db import StoreError, connect

    db = Path(obj.settings.db)
    if not db.exists():
        fail(f"no store at {db}: nothing to back up")
    try:
        return connect(db, migrate=False)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--actor", default="cli", show_default=True, help="Who backs up (recorded in the audit log).")
@click.pass_obj
def backup(obj: Any, path: Path, actor: str) -> None:
    """Copy the store into the new folder PATH (store.duckdb + manifest.json with row counts and sha256).

    The copy is one consistent state of the store. While the dashboard server holds the store, back up from
    the dashboard instead: only the process holding the store can read it.
    """
    from koban_geo.ops.maintenance import MaintenanceError
    from koban_geo.ops.maintenance import backup as make_backup

    con = _open_unmigrated(obj)
    try:
        manifest = make_backup(con, path, actor=actor)
    except MaintenanceError as exc:
        fail(str(exc))
    finally:
        con.close()
    size = sum(f["bytes"] for f in manifest["files"].values())
    click.echo(
        f"backup {path}: schema version {manifest['schema_version']}, {len(manifest['tables'])} tables, "
        f"{manifest['tables'].get('concerns', 0)} concerns, {size / 1e6:.1f} MB"
    )


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace the existing store file named by --db.")
@click.option("--actor", default="cli", show_default=True, help="Who restores (recorded in the audit log).")
@click.pass_obj
def restore(obj: Any, path: Path, force: bool, actor: str) -> None:
    """Restore the backup folder PATH into the store file named by --db (a new file unless --force).

    The backup is checked against its manifest first; migrations newer than the backup run afterwards.
    """
    from koban_geo.ops.maintenance import MaintenanceError
    from koban_geo.ops.maintenance import restore as do_restore

    target = Path(obj.settings.db)
    try:
        manifest = do_restore(path, target, force=force, actor=actor)
    except MaintenanceError as exc:
        fail(str(exc))
    migrated = manifest["migrated"]
    click.echo(
        f"restored {path} (made {manifest['created_at']}) into {target}: "
        f"{manifest['tables'].get('concerns', 0)} concerns, schema version {manifest['schema_version']}"
        + (f", then migrated ({', '.join(str(v) for v in migrated)})" if migrated else "")
    )


class _IsoDateTime(click.ParamType[datetime]):
    name = "ISO"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO date or time (e.g. 2026-11-24 or 2026-11-24T09:00)", param, ctx
            )


@click.command()
@click.option(
    "--dry-run/--apply",
    "dry_run",
    default=True,
    show_default=True,
    help="Only report what would be purged, or purge it.",
)
@click.option(
    "--now", type=_IsoDateTime(), default=None, help="Purge as if it were this time (default: now)."
)
@click.option(
    "--compact",
    is_flag=True,
    help="With --apply: then rewrite the store file so the purged rows' bytes are gone from it too.",
)
@click.option("--actor", default="cli", show_default=True, help="Who purges (recorded in the audit log).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def purge(obj: Any, dry_run: bool, now: datetime | None, compact: bool, actor: str, as_json: bool) -> None:
    """Purge concerns older than KOBAN_RETENTION_MONTHS and audit rows older than KOBAN_AUDIT_RETENTION_MONTHS.

    Whole calendar months go. Their aggregates (per month, theme, area and snapped place; no text, no ids)
    are kept in concern_archive so that counts published earlier stay reproducible.
    """
    from koban_geo.ops.maintenance import MaintenanceError
    from koban_geo.ops.maintenance import compact as compact_store
    from koban_geo.ops.maintenance import purge as do_purge

    if compact and dry_run:
        fail("--compact goes with --apply")
    con = obj.connect()
    settings = obj.settings  # after connect: the site's settings (its retention)
    try:
        report = do_purge(con, settings, now=now, apply=not dry_run, actor=actor)
    except MaintenanceError as exc:
        fail(str(exc))
    finally:
        con.close()
    sizes = None
    if compact:
        try:
            sizes = compact_store(settings.db, actor=actor)
        except MaintenanceError as exc:
            fail(f"purged, but not compacted: {exc}")
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "compacted": sizes}, ensure_ascii=False))
        return
    verb = "purged" if report.applied else "would purge"
    click.echo(
        f"{'purge ' + str(report.purge_id) if report.applied else 'dry run, nothing deleted'}: "
        f"retention {settings.retention_months} months for concerns, {settings.audit_retention_months} for "
        f"the audit log, counted from {report.now:%Y-%m-%d}"
    )
    click.echo(f"concerns reported before {report.concerns_before:%Y-%m-%d}: {verb} {report.concerns}")
    for month, themes in report.by_month_theme.items():
        click.echo(f"  {month}  " + ", ".join(f"{theme} {n}" for theme, n in themes.items()))
    click.echo(f"audit log rows logged before {report.audit_before:%Y-%m-%d}: {verb} {report.audit}")
    if report.applied:
        click.echo(f"archived as {report.archive_rows} aggregate rows in concern_archive")
    if sizes:
        click.echo(
            f"store file rewritten with live rows only: {sizes[0] / 1e6:.1f} MB -> {sizes[1] / 1e6:.1f} MB"
        )
    elif report.concerns or report.audit:
        click.echo("run with --apply to purge (back up first: koban-geo backup PATH)")


@click.command()
@click.pass_obj
def doctor(obj: Any) -> None:
    """Check this installation: Python, DuckDB and spatial, the store, its schema, map assets, tiles.

    Exit status 1 when a check fails; each failure says how to fix it.
    """
    from koban_geo.ops.doctor import run_checks

    checks = run_checks(obj.settings)
    for check in checks:
        click.echo(f"{'✓' if check.ok else '✗'} {check.name}: {check.message}")
        if check.fix:
            click.echo(f"    {'fix' if not check.ok else 'tip'}: {check.fix}")
    failed = [c.name for c in checks if not c.ok]
    click.echo(
        f"{len(checks) - len(failed)} of {len(checks)} checks passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    sys.exit(1 if failed else 0)


COMMANDS = (backup, restore, purge, doctor)
