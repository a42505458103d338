"""Running the store's named SQL: query files with bound parameters, transactions, the process's write lock,
the meta table and the audit log. Imported by every module that reads or writes the store.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from typing import Any

import duckdb

from koban_geo.store.resources import load_sql
from koban_geo.store.scope import bind_site, bound_site, site_of

__all__ = [
    "audit",
    "cursor",
    "meta_get",
    "meta_set",
    "plain_cursor",
    "query",
    "quote_ident",
    "register_macros",
    "transaction",
    "writing",
]


def register_macros(con: duckdb.DuckDBPyConnection, spatial: bool | None = True) -> None:
    """Temporary SQL macros shared by the queries (parsing of numbers and dates; snapping).

    The snapping macros need the spatial extension: `spatial=True` creates them (an error without it), False
    skips them (a store opened without spatial, store.db.connect), None creates them when spatial is loaded
    (a cursor of either kind of connection; outside a transaction, since a failed statement would end it)."""
    con.execute(load_sql("macros"))
    if spatial:
        con.execute(load_sql("macros_spatial"))
    elif spatial is None:
        with suppress(duckdb.CatalogException):  # spatial is not loaded on this connection
            con.execute(load_sql("macros_spatial"))
    has_meta = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta' AND schema_name = 'main'"
    ).fetchone()
    if has_meta and has_meta[0]:  # the record-key macro reads the salt from meta (privacy.cellkey)
        con.execute(load_sql("macros_cellkey"))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends, roll back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


# DuckDB lets one process write a store file; inside it, threads share one connection through cursors.
# Writers in the server (votes, logins, problem cards) also take this lock, so two transactions never
# race on the same rows: DuckDB would abort the second with a conflict error instead of waiting.
_WRITE_LOCK = threading.RLock()


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A new cursor for another thread, with the store's TEMP macros (they are per connection)."""
    cur = con.cursor()
    register_macros(cur, spatial=None)
    _inherit_site(con, cur)
    return cur


def plain_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A new cursor without the TEMP macros (cheaper), working in `con`'s site like `cursor`."""
    cur = con.cursor()
    _inherit_site(con, cur)
    return cur


def _inherit_site(con: duckdb.DuckDBPyConnection, cur: duckdb.DuckDBPyConnection) -> None:
    site = bound_site(con)
    if site is not None:
        bind_site(cur, site)


@contextmanager
def writing(con: duckdb.DuckDBPyConnection, *, macros: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of `con` inside one transaction, serialised with every other writer of this process.

    `macros=False` skips registering the TEMP macros, for writes whose SQL uses none (a phone's ballot):
    registering them is most of a small write's fixed cost."""
    cur = cursor(con) if macros else plain_cursor(con)  # made outside the lock
    try:
        with _WRITE_LOCK, transaction(cur):
            yield cur
    finally:
        cur.close()


_STATEMENT_END = re.compile(r";[ \t]*(?:--[^\n]*)?\n")
_NAMED = re.compile(r"\$([a-z_][a-z0-9_]*)")


def _statements(sql: str) -> list[str]:
    """Split a query file at semicolons that end a line (our SQL files keep one statement per such end)."""
    return [
        part.strip() for part in _STATEMENT_END.split(sql + "\n") if part.strip() and not _only_comments(part)
    ]


def _only_comments(part: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in part.splitlines())


@cache
def _prepared(name: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The statements of query file `name` with the parameters each names (parsed once per process)."""
    prepared = []
    for statement in _statements(load_sql(f"queries/{name}")):
        code = "\n".join(line.split("--", 1)[0] for line in statement.splitlines())
        prepared.append((statement, frozenset(_NAMED.findall(code))))
    return tuple(prepared)


def query(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> Any:  # the connection after the last statement (DuckDB's fetch* are untyped enough)
    """Run the query file `sql/queries/<name>.sql` with bound named parameters; returns the last result.

    A file may hold several statements; each gets the parameters it names. `$site` not given is the site
    bound to `con` (store.scope), so a query never runs without its site.
    """
    params = params or {}
    if "site" not in params and any("site" in names for _, names in _prepared(name)):
        params = {**params, "site": site_of(con)}
    result = con
    for statement, names in _prepared(name):
        missing = names - params.keys()
        if missing:
            raise KeyError(f"query {name} needs parameter(s) {', '.join(sorted(missing))}")
        result = con.execute(statement, {k: params[k] for k in names})
    return result


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB (double quotes doubled). Use only where an allow-list is impossible."""
    return '"' + name.replace('"', '""') + '"'


def meta_get(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def meta_set(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def audit(con: duckdb.DuckDBPyConnection, actor: str, action: str, detail: str = "") -> None:
    """One audit row; it carries the connection's site (NULL for a store-wide action on an unbound one, and
    the column is left out there: a store opened before migration 0012, as a backup of an old one, lacks it)."""
    site = bound_site(con)
    if site is None:
        con.execute(
            "INSERT INTO audit_log (logged_at, actor, action, detail) VALUES (now(), ?, ?, ?)",
            [actor, action, detail],
        )
        return
    con.execute(
        "INSERT INTO audit_log (logged_at, actor, action, detail, site) VALUES (now(), ?, ?, ?, ?)",
        [actor, action, detail, site],
    )
