"""Counts of what the store holds (for `koban-geo stats` and the dashboard's status panel)."""

from __future__ import annotations

from typing import Any

import duckdb

from koban_geo.store.db import schema_version
from koban_geo.store.scope import site_of
from koban_geo.store.sql import query

TABLES = ("concerns", "crime", "areas", "layers", "area_stats", "themes", "ingest_batches", "audit_log")
STORE_WIDE = ("themes",)  # every other table's rows belong to a site: counted in the connection's site


def store_stats(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Rows per table, themes, areas and layers of the connection's site (store.scope)."""
    tables = {}
    site = site_of(con)
    for table in TABLES:  # identifiers from the allow-list above
        if table in STORE_WIDE:
            row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        else:
            row = con.execute(f"SELECT count(*) FROM {table} WHERE site = ?", [site]).fetchone()
        tables[table] = int(row[0]) if row else 0
    return {
        "site": site,
        "schema_version": schema_version(con),
        "tables": tables,
        "themes": dict(query(con, "stats_by_theme").fetchall()),
        "areas": dict(query(con, "stats_by_area").fetchall()),
        "layers": dict(query(con, "stats_by_layer").fetchall()),
    }


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """A short string that changes whenever the counted concerns change (caches key on it)."""
    row = query(con, "data_version").fetchone()
    return str(row[0]) if row else ""
