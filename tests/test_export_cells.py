"""Every cell for the analyst (esda on the exported file gives our z-scores) and GeoParquet exports, on the
real demo store: read back by geopandas, libpysal + esda, pyarrow and DuckDB's spatial extension."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from koban_geo.analysis.grid import Filter, study_grid
from koban_geo.analysis.hotspots import hotspots
from koban_geo.cli.main import cli
from koban_geo.outputs.export import export
from koban_geo.privacy.audience import PrivacyError
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings

THEMES = ("noise", "asb")


@pytest.fixture(scope="module")
def store(demo_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("cells") / "store.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db)
    con = connect(db)
    yield con, settings, db
    con.close()


def _esda_z(frame):
    """What an analyst runs on the exported file (the README's snippet)."""
    import esda
    import libpysal

    w = libpysal.weights.Queen.from_dataframe(frame, use_index=False, silence_warnings=True)
    y = frame["count"].to_numpy(dtype=float)
    return esda.G_Local(y, w, star=True, transform="B", permutations=0).Zs


@pytest.mark.parametrize("suffix", ["geojson", "parquet", "gpkg"])
def test_esda_on_the_analyst_export_gives_the_same_z(store, tmp_path, suffix):
    import geopandas as gpd

    con, settings, _ = store
    out = tmp_path / f"cells.{suffix}"
    report = export(con, settings, "hotspots", "analyst", out, actor="analyst-1", flt=Filter(themes=THEMES))
    if suffix == "parquet":
        frame = gpd.read_parquet(out)
    else:
        frame = gpd.read_file(out, layer="hotspots") if suffix == "gpkg" else gpd.read_file(out)
    n = study_grid(con, 100).n
    assert len(frame) == report.rows == n  # every cell of the study area
    assert report.metadata["hotspots"]["all_cells"] is True
    assert (frame["count"] == 0).sum() > 0 and (frame["gi_bin"] == 0).sum() > 0  # zero and calm cells too
    z = _esda_z(frame)
    assert np.abs(z - frame["gi_z"].to_numpy()).max() <= 1e-6
    assert frame["gi_z"].abs().max() > 3  # real hot spots, not all zeros


def test_the_hotspots_command_writes_every_cell_for_analysts(store, tmp_path):
    import geopandas as gpd

    _, _, db = store
    out = tmp_path / "hot.parquet"
    args = ["--db", str(db), "hotspots", "--method", "gistar", "--theme", "drugs", "--audience", "analyst"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    frame = gpd.read_parquet(out)
    assert np.abs(_esda_z(frame) - frame["gi_z"].to_numpy()).max() <= 1e-6
    fewer = tmp_path / "hot.geojson"
    result = CliRunner().invoke(cli, [*args, "--cells-with-data", "--out", str(fewer)])
    assert result.exit_code == 0, result.stderr
    features = json.loads(fewer.read_text(encoding="utf-8"))["features"]
    assert 0 < len(features) < len(frame)
    assert all(f["properties"]["count"] > 0 or f["properties"]["gi_bin"] != 0 for f in features)


@pytest.mark.parametrize("audience", ["public", "council"])
def test_public_tiers_never_get_every_cell(store, audience):
    con, settings, _ = store
    flt = Filter(themes=THEMES)
    with pytest.raises(PrivacyError, match="officer and analyst"):
        hotspots(con, settings, method="gistar", audience=audience, flt=flt, all_cells=True)
    rows, meta = hotspots(con, settings, method="gistar", audience=audience, flt=flt)
    assert meta["all_cells"] is False and len(rows) < study_grid(con, 100).n
    for _, props in rows:  # as before: cells with reports or a bin; no z, no p
        assert "gi_z" not in props and "gi_p" not in props
        assert props["count"] is None or props["count"] > 0 or props["gi_bin"] != 0


def test_officers_keep_cells_with_data_unless_they_ask(store):
    con, settings, _ = store
    flt = Filter(themes=THEMES)
    rows, _ = hotspots(con, settings, method="gistar", audience="officer", flt=flt)
    every, _ = hotspots(con, settings, method="gistar", audience="officer", flt=flt, all_cells=True)
    assert len(rows) < len(every) == study_grid(con, 100).n
    drawn, _ = hotspots(con, settings, method="gistar", audience="analyst", flt=flt, significant_only=True)
    assert all(p["gi_bin"] != 0 for _, p in drawn)  # a map never defaults to every cell


def test_geoparquet_export_reads_the_same_in_geopandas_pyarrow_and_duckdb(store, tmp_path):
    import geopandas as gpd
    import pyarrow.parquet as pq

    con, settings, _ = store
    flt = Filter(themes=THEMES)
    reference = tmp_path / "cells.geojson"
    out = tmp_path / "cells.parquet"
    export(con, settings, "hotspots", "council", reference, actor="liaison", flt=flt)
    report = export(con, settings, "hotspots", "council", out, actor="liaison", flt=flt)
    assert report.format == "geoparquet"
    doc = json.loads(reference.read_text(encoding="utf-8"))
    expected = {f["properties"]["cell_id"]: f for f in doc["features"]}

    meta = pq.read_schema(out).metadata
    geo = json.loads(meta[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB" and column["geometry_types"] == ["Polygon"]
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    assert column["bbox"] == pytest.approx(doc["bbox"], abs=1e-9)
    koban = json.loads(meta[b"koban"])
    assert koban["audience"] == "council" and koban["privacy"]["k"] == settings.k_min

    frame = gpd.read_parquet(out)
    assert frame.crs.to_epsg() == 4326 and len(frame) == len(expected) == report.rows
    assert "gi_z" not in frame and "ckey" not in frame
    for record in frame.to_dict("records"):
        feature = expected[record["cell_id"]]
        for key, value in feature["properties"].items():
            got = record[key]
            assert (got is None or got != got) if value is None else got == value, (key, value, got)
        assert shapely.equals_exact(record["geometry"], shapely.geometry.shape(feature["geometry"]), 1e-9)
    # the covering column (geopandas reads it as the bbox it is, so read it raw): each row's bounds
    table = pq.read_table(out, columns=["geometry", "bbox"]).to_pydict()
    for wkb, box in zip(table["geometry"], table["bbox"], strict=True):
        assert (box["xmin"], box["ymin"], box["xmax"], box["ymax"]) == shapely.from_wkb(wkb).bounds

    reader = connect(":memory:")
    try:
        described = reader.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out)]).fetchall()
        kinds = {row[0]: row[1] for row in described}
        assert kinds["geometry"].startswith("GEOMETRY")
        rows = reader.execute(
            "SELECT cell_id, count, ST_AsText(geometry), ST_XMin(geometry) = bbox.xmin FROM read_parquet(?)",
            [str(out)],
        ).fetchall()
    finally:
        reader.close()
    assert len(rows) == len(expected)
    for cell_id, count, wkt, same_box in rows:
        assert count == expected[cell_id]["properties"]["count"] and same_box
        assert (
            shapely.hausdorff_distance(
                shapely.from_wkt(wkt), shapely.geometry.shape(expected[cell_id]["geometry"])
            )
            <= 1e-9
        )


def test_format_by_name_or_option(store, tmp_path):
    con, settings, _ = store
    out = tmp_path / "cells.bin"
    report = export(con, settings, "areas", "public", out, "geoparquet", actor="liaison")
    assert report.format == "geoparquet" and out.read_bytes()[:4] == b"PAR1"
    with pytest.raises(ValueError, match=r"\.parquet"):
        export(con, settings, "areas", "public", tmp_path / "cells.bin", actor="liaison")
