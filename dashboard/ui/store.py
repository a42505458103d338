"""The dashboard's one store connection and its settings.

DuckDB lets one process write a store file, so the dashboard server owns it: one read-write connection per
process (kept in web.process, shared with the login routes, out of reach of Streamlit's "clear cache"), one
cursor per script-run thread for reading (cursors are DuckDB's way to use one connection from many threads),
and koban_geo.store.sql.writing for every write (one serialised transaction).
A page that only reads asks for `reader()` and never writes through it; the CLI, while the server runs, is
refused with a clear "the store is open in the dashboard" message (koban_geo.store.db.StoreError).
"""

from __future__ import annotations

import threading

import duckdb

from koban_geo.store.settings import Settings


def settings() -> Settings:
    """The typed settings (KOBAN_* environment, .env), read once per store path."""
    from web import process

    return process.settings()


def connection() -> duckdb.DuckDBPyConnection:
    """The process's read-write connection: pass it to koban_geo functions that write (they serialise)."""
    from web import process

    return process.connection()


_THREAD = threading.local()


def reader() -> duckdb.DuckDBPyConnection:
    """This thread's cursor (reads only). Streamlit runs each script run in a thread of its own, so this is one
    cursor per run, made on the first read: a cursor's TEMP macros take ~10 ms to register, and a page reads
    through `reader()` ten to forty times (py-spy: about half of a cached map page's server time went there).
    A cursor is never shared between threads; a new connection (after a restore) gets a new cursor."""
    from koban_geo.store.sql import cursor

    con = connection()
    kept = getattr(_THREAD, "cursor", None)
    if kept is not None and kept[0] is con:
        return kept[1]
    cur = cursor(con)
    _THREAD.cursor = (con, cur)
    return cur


def data_version() -> str:
    """Changes whenever the counted concerns change: the key of every cached analytics result."""
    from koban_geo.store.stats import data_version as version

    return version(reader())
