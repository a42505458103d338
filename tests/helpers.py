"""Fixture builders and the shared assertions for ingest tests (files are made the way users' tools make them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

STORE_TABLES = ("concerns", "crime", "areas", "layers", "area_stats", "ingest_batches")

# Two real-shaped neighbourhoods side by side in central Helsinki (lon, lat), west and east of 24.94.
HELSINKI_AREAS = {
    "HEL-W": (
        "Kamppi",
        [(24.920, 60.160), (24.940, 60.160), (24.940, 60.175), (24.920, 60.175), (24.920, 60.160)],
    ),
    "HEL-E": (
        "Kluuvi",
        [(24.940, 60.160), (24.960, 60.160), (24.960, 60.175), (24.940, 60.175), (24.940, 60.160)],
    ),
}


def write_areas(path: Path, areas: dict[str, tuple[str, list[tuple[float, float]]]] = HELSINKI_AREAS,
                code_key: str = "code", name_key: str = "name", crs: dict[str, Any] | None = None) -> Path:  # fmt: skip
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {code_key: code, name_key: name},
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
            }
            for code, (name, ring) in areas.items()
        ],
    }
    if crs:
        doc["crs"] = crs
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every row of the stored tables, to prove that a rejected file changed nothing."""
    state: dict[str, Any] = {}
    for table in STORE_TABLES:  # identifiers from the tuple above
        columns = (
            "id, sha256, rows_accepted"
            if table == "ingest_batches"
            else "* REPLACE (ST_AsText(geom) AS geom)"
        )
        if table == "area_stats":
            columns = "*"
        state[table] = con.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
    return state


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    assert table in STORE_TABLES
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def fill_place_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Give concerns inserted by hand the keys ingest stores with each concern (migration 0008: the snapped
    point in the store's metric CRS, the hash of the near-duplicate group; migration 0009: the cell-key record
    keys of the report and of its group); recomputed for every row, so a
    test may call it again after changing group ids."""
    con.execute(
        """UPDATE concerns
           SET place_x = ST_X(t.m), place_y = ST_Y(t.m),
               unit_key = hash(coalesce(concerns.group_id, concerns.source || '/' || concerns.id)),
               record_key = koban_record_key(concerns.source || '/' || concerns.id),
               group_key = koban_record_key(coalesce(concerns.group_id, concerns.source || '/' || concerns.id))
           FROM (SELECT source, id, ST_Transform(geom, 'EPSG:4326', (SELECT value FROM meta WHERE key = 'metric_crs'),
                                                 always_xy := true) AS m FROM concerns) AS t
           WHERE t.source = concerns.source AND t.id = concerns.id"""
    )


def batch_record(con: duckdb.DuckDBPyConnection, batch_id: int, kind: str = "concerns") -> None:
    """The ingest_batches row that rows written by hand in a test belong to: without it they are a torn
    batch's remains, which every read-write open of the store deletes (koban_geo.store.recovery)."""
    con.execute(
        "INSERT INTO ingest_batches (id, kind, format, file_name, sha256, rows_read, rows_accepted, "
        "rows_rejected, rows_duplicate, parameters, errors, started_at, finished_at) "
        "VALUES (?, ?, 'test', 'test', 'x', 0, 0, 0, 0, '{}', '[]', now(), now()) ON CONFLICT DO NOTHING",
        [batch_id, kind],
    )
