"""The store itself: offline spatial loading, migrations, schema, indexes and the SQL file loader."""

from __future__ import annotations

import duckdb
import pytest

from koban_geo.store import db as store
from koban_geo.store.db import StoreError, apply_migrations, connect, latest_version, schema_version
from koban_geo.store.sql import query

REQUIRED = {
    "areas": {"code", "name", "geom"},
    "concerns": {"id", "reported_at", "theme", "description", "geom", "area_code", "source", "theme_source"},
    "crime": {"crime_id", "month", "crime_type", "geom", "theme", "area_code"},
    "layers": {"layer", "feature_id", "properties", "geom"},
    "area_stats": {"area_code", "period", "indicator", "value"},
    "themes": {
        "code",
        "sensitive",
        "label_en",
        "label_nl",
        "label_fr",
        "label_pl",
        "label_fi",
        "label_es",
        "label_pt",
    },
    "ingest_batches": {
        "file_name",
        "sha256",
        "format",
        "rows_accepted",
        "rows_rejected",
        "parameters",
        "started_at",
    },
    "audit_log": {"logged_at", "actor", "action", "detail"},
}


def test_spatial_loads_from_the_wheel_without_network(mem):
    assert store.spatial_extension_path() is not None
    assert mem.execute("SELECT ST_AsText(ST_Point(1, 2))").fetchone()[0] == "POINT (1 2)"
    assert mem.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone()[0] is False


def test_missing_extension_fails_with_one_clear_sentence(monkeypatch):
    monkeypatch.setattr(store, "spatial_extension_path", lambda: None)
    con = duckdb.connect(
        ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    with pytest.raises(
        StoreError, match=r"spatial extension could not be loaded for DuckDB 1\.5\.5: install"
    ):
        store.load_spatial(con)


def test_schema_has_the_required_tables_and_columns(mem):
    for table, columns in REQUIRED.items():
        found = {
            r[0]
            for r in mem.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
            ).fetchall()
        }
        assert columns <= found, (table, columns - found)


def test_geometry_columns_have_rtree_indexes(mem):
    indexes = {
        r[0]
        for r in mem.execute("SELECT table_name FROM duckdb_indexes() WHERE sql ILIKE '%RTREE%'").fetchall()
    }
    assert {"areas", "concerns", "crime", "layers"} <= indexes


def test_migrations_run_once_and_record_their_version(tmp_path):
    path = tmp_path / "m.duckdb"
    con = connect(path)
    assert schema_version(con) == latest_version() >= 1
    assert apply_migrations(con) == []
    con.close()
    again = connect(path)
    assert again.execute("SELECT count(*) FROM schema_version").fetchone()[0] == latest_version()
    assert again.execute("SELECT count(*) FROM themes").fetchone()[0] == 15
    again.close()


def test_sensitive_themes_are_marked(mem):
    sensitive = {r[0] for r in mem.execute("SELECT code FROM themes WHERE sensitive").fetchall()}
    assert sensitive == {"domestic", "hate", "radicalisation"}


def test_read_only_store_refuses_writes(tmp_path):
    path = tmp_path / "ro.duckdb"
    connect(path).close()
    ro = connect(path, read_only=True)
    with pytest.raises(duckdb.Error):
        ro.execute("INSERT INTO meta VALUES ('x', 'y')")
    ro.close()


def test_query_files_bind_parameters_and_refuse_missing_ones(mem):
    assert query(mem, "stats_by_theme").fetchall() == []
    with pytest.raises(KeyError, match="needs parameter"):
        query(mem, "stats_prepare", {})


def test_read_only_open_upgrades_an_older_store_first(tmp_path):
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))  # a store made by the koban-geo before the latest migration
    store.load_spatial(old)
    for version, name, sql in store.migrations()[:-1]:
        old.execute(sql.read_text(encoding="utf-8"))
        old.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, name])
    old.close()
    ro = connect(path, read_only=True)
    try:
        assert schema_version(ro) == latest_version()
        with pytest.raises(duckdb.Error):
            ro.execute("INSERT INTO meta VALUES ('x', 'y')")  # still read-only
    finally:
        ro.close()


def test_the_store_crs_has_one_owner(mem):
    from koban_geo.store.crs import FALLBACK, set_store_crs, store_crs, stored_crs

    asked: list[int] = []

    def helsinki() -> tuple[float, float]:
        asked.append(1)
        return (24.94, 60.17)

    assert stored_crs(mem) is None  # a new store has none until its first ingest
    assert store_crs(mem) == FALLBACK == "EPSG:3857"  # nothing to place
    assert store_crs(mem, (None, None)) == FALLBACK
    assert store_crs(mem, helsinki) == "EPSG:32635" and asked == [1]  # the UTM zone of the centre
    assert stored_crs(mem) is None  # choosing is not fixing
    with pytest.raises(ValueError, match="EPSG:NNNN"):
        set_store_crs(mem, "EPSG:3067; DROP TABLE meta")
    set_store_crs(mem, "epsg:3067")
    assert stored_crs(mem) == "EPSG:3067"
    assert store_crs(mem, helsinki) == "EPSG:3067" and asked == [1]  # the stored one wins; no centre asked
    mem.execute("UPDATE meta SET value = 'bogus' WHERE key = 'metric_crs'")
    with pytest.raises(ValueError, match="EPSG:NNNN"):
        stored_crs(mem)  # a damaged value never reaches SQL
