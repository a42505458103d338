"""The process's one read-write store connection, outside any Streamlit cache.

DuckDB lets one process write a store file; inside it, every thread uses cursors of one connection. The
Streamlit pages (ui/store.py) and the app's own routes (the phones' page) share this one, so a ballot cast
on a phone is in the same store the meeting screen reads, and no client message (Streamlit's "clear cache")
can make the process open a second one.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb

from koban_geo.store.settings import Settings, get_settings

__all__ = ["connection_for", "store_connection", "store_settings"]

_LOCK = threading.Lock()
_CONNECTIONS: dict[str, duckdb.DuckDBPyConnection] = {}
_SETTINGS: dict[str | None, Settings] = {}


def store_settings() -> Settings:
    """The typed settings (KOBAN_* environment, .env), read once per KOBAN_DB."""
    db = os.environ.get("KOBAN_DB")
    with _LOCK:
        if db not in _SETTINGS:
            _SETTINGS[db] = get_settings(db=db)
        return _SETTINGS[db]


def connection_for(db: str | Path) -> duckdb.DuckDBPyConnection:
    """The process's connection to store `db`, opened (and migrated) on first use."""
    from koban_geo.store.db import StoreError, connect

    key = str(db)
    with _LOCK:
        if key not in _CONNECTIONS:
            if not Path(key).exists():
                raise StoreError(f"No KOBAN store at {key}: run `koban-geo init` or `koban-geo demo` first.")
            _CONNECTIONS[key] = connect(Path(key))
        return _CONNECTIONS[key]


def store_connection() -> duckdb.DuckDBPyConnection:
    """The connection to the configured store (settings.db)."""
    return connection_for(store_settings().db)
