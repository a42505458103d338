"""What every ingest shares: the batch record, file fingerprints, row errors and exit status."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from koban_geo.store.scope import site_of

# Stored errors are capped so a broken 10-million-row file cannot bloat the store; the count is kept.
MAX_STORED_ERRORS = 1000


class IngestError(Exception):
    """The whole file is rejected and nothing is stored. The message names the file (and line) and why."""


@dataclass
class BatchResult:
    kind: str
    format: str
    file: str
    batch_id: int | None = None
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(
        default_factory=list
    )  # stored anyway, but worth a look (stderr, batch record)
    already_ingested: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 all stored (or nothing new), 1 stored with some rows rejected, 2 nothing stored."""
        if self.rejected and not self.accepted and not self.duplicate:
            return 2
        return 1 if self.rejected else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "format": self.format,
            "batch_id": self.batch_id,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicate": self.duplicate,
            "already_ingested": self.already_ingested,
            "errors": self.errors,
            "warnings": self.warnings,
            "exit_code": self.exit_code,
        }


def previous_batch(con: duckdb.DuckDBPyConnection, sha256: str, kind: str, source: str | None) -> int | None:
    """The batch that already stored this exact file for this kind (and source or layer name) in the
    connection's site, if any: the same file ingested in another site is a new batch there."""
    row = con.execute(
        "SELECT id FROM ingest_batches WHERE site = ? AND sha256 = ? AND kind = ? "
        "AND coalesce(source, '') = coalesce(?, '') AND rows_accepted + rows_duplicate > 0 "
        "ORDER BY id LIMIT 1",
        [site_of(con), sha256, kind, source],
    ).fetchone()
    return int(row[0]) if row else None


def row_error(file: str, where: str, reason: str) -> str:
    """'FILE:WHERE: field: reason' — where is a line number for text files, 'feature N' for JSON."""
    return f"{file}:{where}: {reason}"


def new_batch_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT nextval('ingest_batch_id')").fetchone()
    assert row is not None
    return int(row[0])


def record_batch(
    con: duckdb.DuckDBPyConnection,
    result: BatchResult,
    *,
    sha256: str,
    source: str | None,
    started_at: datetime,
) -> None:
    """Write the batch row; call inside the transaction that stores the batch's rows."""
    assert result.batch_id is not None
    stored_errors = result.errors[:MAX_STORED_ERRORS]
    params = dict(result.parameters, errors_total=len(result.errors))
    if result.warnings:
        params["warnings"] = result.warnings
    con.execute(
        "INSERT INTO ingest_batches (id, kind, format, file_name, sha256, source, rows_read, rows_accepted, "
        "rows_rejected, rows_duplicate, parameters, errors, started_at, finished_at, site) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
        [
            result.batch_id,
            result.kind,
            result.format,
            result.file,
            sha256,
            source,
            result.read,
            result.accepted,
            result.rejected,
            result.duplicate,
            json.dumps(params, ensure_ascii=False, sort_keys=True),
            json.dumps(stored_errors, ensure_ascii=False),
            started_at,
            site_of(con),
        ],
    )
