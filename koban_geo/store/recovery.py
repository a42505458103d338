"""Recovery after a crash: rows of a batch whose commit was torn, and R-tree indexes left to rebuild.

Every read-write open of the store runs `recover_torn_batches` (koban_geo.store.db.connect), so no process ever
counts rows that no committed batch holds; `needs_recovery` is the cheap check a read-only open makes first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from koban_geo.store.sql import audit, meta_get, meta_set, quote_ident, writing

__all__ = [
    "BATCH_TABLES",
    "needs_recovery",
    "rebuild_indexes",
    "recover_torn_batches",
    "torn_batches",
    "without_rtree",
]


# Tables whose rows belong to an ingest batch (identifiers for the statements below come from this tuple).
BATCH_TABLES = ("concerns", "crime", "areas", "layers", "area_stats")
_PENDING_INDEXES = "pending_indexes"  # meta key: R-tree definitions dropped for a large delete, to rebuild


def torn_batches(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table whose batch has no record (only tables that have some); one scan of batch_id each.

    Cheap enough for every open: an integer anti-join against the few hundred batch records (about 10 ms on
    1,000,000 concerns).
    """
    union = " UNION ALL ".join(
        f"SELECT '{t}', count(*) FROM {t} WHERE batch_id NOT IN (SELECT id FROM ingest_batches)"
        for t in BATCH_TABLES  # identifiers from the tuple above
    )
    return {table: int(n) for table, n in con.execute(union).fetchall() if n}


def needs_recovery(con: duckdb.DuckDBPyConnection) -> bool:
    """True when rows without their batch record, or R-tree indexes waiting to be rebuilt, are in the store."""
    return bool(meta_get(con, _PENDING_INDEXES)) or bool(torn_batches(con))


def recover_torn_batches(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Delete rows whose ingest batch has no record: the remains of a batch whose commit a crash cut short.

    A batch's rows and its ingest_batches row are committed together, so committed rows always have their
    record. DuckDB 1.5.5 can break that after a crash: when the WAL ends inside a commit, its replay still
    brings back the rows of a large insert (written to the file before the commit, "optimistic writes")
    while the rest of the transaction is rightly dropped (tests/test_crash.py shows both). The R-tree over
    those rows is rebuilt as well (the replayed one fails queries). Run before a new batch takes an id, since
    the batch id sequence is set back too. Also rebuilds indexes a crashed purge left out. Returns the rows
    deleted per table.
    """
    rebuild_indexes(con)
    torn = torn_batches(con)
    for table in torn:  # from BATCH_TABLES
        with without_rtree(con, table), writing(con) as cur:
            cur.execute(f"DELETE FROM {table} WHERE batch_id NOT IN (SELECT id FROM ingest_batches)")
            audit(
                cur, "recovery", "recover.torn_batches", f"{table}: {torn[table]} rows without a batch record"
            )
    return torn


@contextmanager
def without_rtree(con: duckdb.DuckDBPyConnection, table: str) -> Iterator[None]:
    """Around a large DELETE from `table`: drop its R-tree indexes first (committed), rebuild them after.

    DuckDB spatial 1.5.5 takes each deleted row out of an R-tree one at a time at commit: about 2.5 ms a row
    in a 200,000-row table (a purged month took minutes, holding the write lock), even when the index is
    dropped in the deleting transaction itself. Building the tree afresh takes under a second. The
    definitions stay in meta until rebuilt, so a crash in between is repaired by `rebuild_indexes`.
    """
    rows = con.execute(
        "SELECT index_name, sql FROM duckdb_indexes() WHERE table_name = ? AND schema_name = 'main' "
        "AND sql ILIKE '%USING RTREE%'",
        [table],
    ).fetchall()
    if rows:
        with writing(con) as cur:
            pending = json.loads(meta_get(cur, _PENDING_INDEXES) or "[]")
            meta_set(cur, _PENDING_INDEXES, json.dumps(pending + [sql for _, sql in rows]))
            for name, _ in rows:
                cur.execute(f"DROP INDEX {quote_ident(name)}")
    try:
        yield
    finally:
        rebuild_indexes(con)


def rebuild_indexes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the R-tree indexes `without_rtree` dropped and has not rebuilt yet (after a crash); their SQL."""
    pending: list[str] = json.loads(meta_get(con, _PENDING_INDEXES) or "[]")
    if not pending:
        return []
    with writing(con) as cur:
        for sql in dict.fromkeys(pending):  # from duckdb_indexes(): the store's own definitions
            cur.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        cur.execute("DELETE FROM meta WHERE key = ?", [_PENDING_INDEXES])
    return pending
