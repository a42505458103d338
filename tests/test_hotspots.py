"""Hotspot outputs on the real demo store: the planted patterns are found, and every tier gets only its share."""

from __future__ import annotations

import json

import pytest
import shapely
from click.testing import CliRunner

from koban_geo.analysis.grid import Filter
from koban_geo.analysis.hotspots import hotspots
from koban_geo.cli.main import cli
from koban_geo.privacy.audience import PrivacyError
from koban_geo.store.db import connect
from koban_geo.store.geojson import feature_collection
from koban_geo.store.settings import Settings
from tests.geojson_rules import assert_rfc7946

SETTINGS = Settings(_env_file=None)


@pytest.fixture(scope="module")
def demo(demo_db):
    con = connect(demo_db, read_only=True)
    yield con
    con.close()


def _area_of(con, geom) -> str:
    centre = geom.centroid
    row = con.execute(
        "SELECT code FROM areas WHERE ST_Contains(geom, ST_Point(?, ?))", [centre.x, centre.y]
    ).fetchone()
    return row[0] if row else ""


@pytest.mark.parametrize("method", ["gistar", "emerging", "dbscan"])
@pytest.mark.parametrize("audience", ["public", "council"])
def test_public_tiers_get_aggregates_only(demo, method, audience):
    rows, meta = hotspots(demo, SETTINGS, method=method, audience=audience)
    assert rows
    assert_rfc7946(feature_collection(rows, meta))
    assert not set(meta["filter"]["themes"]) & {"domestic", "hate", "radicalisation"}
    for geom, props in rows:
        assert geom.geom_type in ("Polygon", "MultiPolygon")
        assert "gi_z" not in props and "gi_p" not in props and "n_locations" not in props
        assert props["count"] is None or props["count"] == 0 or props["count"] >= SETTINGS.k_min
    assert "fewer than 5 reports" in meta["precision_note"]


def test_officers_get_z_scores_and_may_name_sensitive_themes(demo):
    rows, meta = hotspots(
        demo, SETTINGS, method="gistar", audience="officer", flt=Filter(themes=("domestic", "noise"))
    )
    assert meta["filter"]["themes"] == ["domestic", "noise"]
    assert all("gi_z" in props and "gi_p" in props for _, props in rows)
    public_rows, public_meta = hotspots(
        demo, SETTINGS, method="gistar", audience="public", flt=Filter(themes=("domestic", "noise"))
    )
    assert public_meta["filter"]["themes"] == ["noise"]


def test_density_surfaces_are_refused_to_public_tiers(demo):
    with pytest.raises(PrivacyError, match="officers and analysts"):
        hotspots(demo, SETTINGS, method="kde", audience="public")
    rows, meta = hotspots(demo, SETTINGS, method="kde", audience="analyst")
    assert rows and all(props["density"] > 0 for _, props in rows)


def test_the_planted_persistent_drug_hotspot_is_found(demo):
    rows, _ = hotspots(demo, SETTINGS, method="gistar", audience="public", flt=Filter(themes=("drugs",)))
    hottest = max(rows, key=lambda r: r[1]["count"] or 0)
    assert hottest[1]["gi_bin"] == 3
    assert _area_of(demo, hottest[0]) == "HEL-112"  # Rautatientori, where data/README.md says it is


def test_the_planted_emerging_noise_hotspot_is_new_or_growing(demo):
    rows, _ = hotspots(
        demo, SETTINGS, method="emerging", audience="officer", flt=Filter(themes=("noise", "asb"))
    )
    emerging = [
        (g, p) for g, p in rows if p["category"] in ("new_hot", "consecutive_hot", "intensifying_hot")
    ]
    assert emerging
    assert "HEL-119" in {_area_of(demo, g) for g, _ in emerging}  # Vanha kirkkopuisto


def test_cli_writes_geojson_that_geopandas_reads(demo_db, tmp_path):
    import geopandas as gpd

    db = tmp_path / "copy.duckdb"
    db.write_bytes(demo_db.read_bytes())
    out = tmp_path / "hot.geojson"
    result = CliRunner().invoke(
        cli, ["--db", str(db), "hotspots", "--method", "gistar", "--theme", "drugs", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert_rfc7946(doc, metadata_keys=("generated", "licence", "privacy", "precision_note", "filter"))
    frame = gpd.read_file(out)
    assert len(frame) == len(doc["features"]) and frame.crs.to_epsg() == 4326
    assert all(isinstance(g, shapely.Polygon) for g in frame.geometry)
    con = connect(db)
    assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'export.hotspots'").fetchone()[0] == 1
    con.close()
    refused = CliRunner().invoke(cli, ["--db", str(db), "hotspots", "--method", "kde", "--out", str(out)])
    assert refused.exit_code == 2 and "officers and analysts" in refused.stderr


# --- significant_only (the map's layers) and complete_slices (the map's emerging layer) ---


def _rows_by_wkb(rows):
    return {geom.wkb: props for geom, props in rows}


@pytest.mark.parametrize("audience", ["officer", "public", "council"])
def test_significant_only_is_the_drawn_subset_of_the_full_output(demo, audience):
    """The gate runs on every cell first: a kept cell shows exactly what the full output shows of it (public
    counts suppressed the same way), and nothing significant is left out."""
    flt = Filter(themes=("noise", "asb", "litter"))
    full, full_meta = hotspots(demo, SETTINGS, method="gistar", audience=audience, flt=flt)
    drawn, meta = hotspots(demo, SETTINGS, method="gistar", audience=audience, flt=flt, significant_only=True)
    assert drawn and len(drawn) < len(full)
    expected = {wkb: p for wkb, p in _rows_by_wkb(full).items() if p["gi_bin"] != 0}
    assert _rows_by_wkb(drawn) == expected
    assert meta == full_meta
    if audience != "officer":
        assert all("gi_z" not in p for _g, p in drawn)


@pytest.mark.parametrize("audience", ["officer", "public"])
def test_significant_only_emerging_keeps_the_cells_with_a_pattern(demo, audience):
    flt = Filter(themes=("noise", "asb"))
    full, _ = hotspots(demo, SETTINGS, method="emerging", audience=audience, flt=flt)
    drawn, _ = hotspots(demo, SETTINGS, method="emerging", audience=audience, flt=flt, significant_only=True)
    expected = {w: p for w, p in _rows_by_wkb(full).items() if p["category"] not in (None, "no_pattern")}
    assert drawn and _rows_by_wkb(drawn) == expected


def test_complete_slices_end_at_the_last_complete_month_with_data(demo):
    """The demo's reports end on 2026-10-31: a window running to 2026-11-25 would end in an empty November."""
    from datetime import datetime

    flt = Filter(themes=("noise", "asb"), since=datetime(2025, 11, 25), until=datetime(2026, 11, 25))
    _, plain = hotspots(demo, SETTINGS, method="emerging", audience="officer", flt=flt)
    _, cut = hotspots(demo, SETTINGS, method="emerging", audience="officer", flt=flt, complete_slices=True)
    assert plain["slices"][-1] == "2026-11-01" and "slices_end" not in plain
    assert cut["slices"][0] == "2025-11-01" and cut["slices"][-1] == "2026-10-01"
    assert cut["slices_end"] == "2026-11-01"
    assert cut["filter"] == plain["filter"]  # the filter asked for is stated as it was
    # a window that ends before the data do is left as it is
    early = Filter(themes=("noise",), since=datetime(2025, 6, 1), until=datetime(2026, 3, 1))
    _, kept = hotspots(demo, SETTINGS, method="emerging", audience="officer", flt=early, complete_slices=True)
    assert kept["slices"][-1] == "2026-02-01" and "slices_end" not in kept
