"""Fixture builders and the shared assertions for ingest tests (files are made the way users' tools make them)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

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


# Where a hand-written concern's point comes from (fixed SQL, chosen by `add_concerns`'s arguments).
_GEOMETRY = {
    "lonlat": "ST_Point(lon::DOUBLE, lat::DOUBLE)",
    "metric": "ST_Transform(ST_Point(x::DOUBLE, y::DOUBLE), $crs, 'EPSG:4326', always_xy := true)",
    "snapped": "koban_round6(koban_snap(ST_Point(x::DOUBLE, y::DOUBLE), $snap_m, $crs))",
}
_OPTIONAL = ("area_code", "group_id", "description")


def add_concerns(
    con: duckdb.DuckDBPyConnection,
    rows: Iterable[Mapping[str, Any]] | pd.DataFrame,
    *,
    source: str = "test",
    batch_id: int = 1,
    snap_m: int = 100,
    crs: str | None = None,
    snap: bool = False,
    theme_source: str = "given",
    with_batch: bool = True,
    with_keys: bool = True,
) -> int:
    """Concerns written by hand, stored as ingest stores them; the one way tests put concerns in a store.

    Each row: id, reported_at (datetime or ISO text), theme, and lon/lat (EPSG:4326), or x/y in `crs` (a metric
    CRS; `snap=True` snaps them to the centre of their `snap_m` square and rounds to 6 decimals, as ingest
    does); optional area_code, group_id, description. With them: the batch record of `batch_id` (without it the
    next read-write open deletes the rows as a torn batch; `with_batch=False` makes such rows on purpose) and the
    cell keys (`fill_place_keys`, recomputed for every row). Returns the number of rows written.
    """
    frame = pd.DataFrame(rows).copy() if not isinstance(rows, pd.DataFrame) else rows.copy()
    if frame.empty:
        return 0
    for column in _OPTIONAL:
        if column not in frame:
            frame[column] = None
    kind = "lonlat" if "lon" in frame else "snapped" if snap else "metric"
    if kind != "lonlat" and crs is None:
        raise ValueError("rows with x/y need the metric crs they are in")
    params: dict[str, Any] = {
        "source": source,
        "batch_id": batch_id,
        "snap_m": snap_m,
        "theme_source": theme_source,
    }
    if kind != "lonlat":
        params["crs"] = crs
    if with_batch:
        batch_record(con, batch_id)
    con.register("_test_concerns", frame)
    try:
        con.execute(
            "INSERT INTO concerns (source, id, reported_at, theme, theme_source, description, geom, snap_m, "
            "batch_id, area_code, group_id) "
            "SELECT $source, id::VARCHAR, reported_at::TIMESTAMP, theme::VARCHAR, $theme_source, "
            f"description::VARCHAR, {_GEOMETRY[kind]}, $snap_m, $batch_id, area_code::VARCHAR, "
            "group_id::VARCHAR FROM _test_concerns",
            params,
        )
    finally:
        con.unregister("_test_concerns")
    if with_keys:
        fill_place_keys(con)
    return len(frame)


def dashboard_app(monkeypatch: Any, db: Path, token: str | None = None, **query: str) -> Any:
    """The dashboard (Streamlit's AppTest) on store `db` for a browser that holds a session cookie for `token`
    (AppTest cannot send cookies: the cookie is handed to ui.auth the way st.context.cookies would give it),
    with the server's throttles and cached settings forgotten, and `query` as the page's query parameters."""
    from streamlit.testing.v1 import AppTest

    from ui import auth
    from web import process
    from web.session import sign

    monkeypatch.setenv("KOBAN_DB", str(db))
    monkeypatch.setenv("KOBAN_TILES_URL", "")
    process.reset_for_tests()
    cookie = sign(token, process.session_key()) if token else None
    monkeypatch.setattr(auth, "session_cookie", lambda: cookie)
    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py"), default_timeout=120
    )
    for key, value in query.items():
        at.query_params[key] = value
    return at
