"""Open data into a real store: areas, layers, data.police.uk crime and area statistics."""

from __future__ import annotations

import json

import pytest

from koban_geo.ingest import IngestError, ingest_file
from tests.helpers import HELSINKI_AREAS, count, snapshot, write_areas, write_text

POLICEUK_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
    "Last outcome category,Context"
)
CRIME_ID = "a" * 64


def policeuk(rows: list[str]) -> str:
    return POLICEUK_HEADER + "\n" + "\n".join(rows) + "\n"


def test_areas_with_named_properties(con, settings, tmp_path):
    path = write_areas(tmp_path / "buurten.geojson", code_key="buurtcode", name_key="buurtnaam")
    result = ingest_file(con, settings, path, kind="areas", code_field="buurtcode", name_field="buurtnaam")
    assert result.accepted == 2
    assert con.execute("SELECT code, name FROM areas ORDER BY code").fetchall() == [
        ("HEL-E", "Kluuvi"),
        ("HEL-W", "Kamppi"),
    ]
    assert con.execute("SELECT value FROM meta WHERE key = 'metric_crs'").fetchone()[0] == "EPSG:32635"


def test_areas_detect_common_property_names(con, settings, tmp_path):
    result = ingest_file(
        con, settings, write_areas(tmp_path / "a.geojson", code_key="kod", name_key="nazwa"), kind="areas"
    )
    assert result.accepted == 2


def test_areas_in_a_legacy_crs_are_reprojected(con, settings, tmp_path):
    # A square in EPSG:3067 (ETRS-TM35FIN) around central Helsinki.
    ring = [(385000, 6671000), (386000, 6671000), (386000, 6672000), (385000, 6672000), (385000, 6671000)]
    crs = {"type": "name", "properties": {"name": "EPSG:3067"}}
    ingest_file(
        con, settings, write_areas(tmp_path / "tm35.geojson", {"X": ("Sq", ring)}, crs=crs), kind="areas"
    )
    lon, lat = con.execute("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM areas").fetchone()
    assert 24.9 < lon < 24.95 and 60.15 < lat < 60.17


def test_invalid_polygon_is_rejected_unless_repair(con, settings, tmp_path):
    bowtie = [(24.92, 60.16), (24.94, 60.175), (24.94, 60.16), (24.92, 60.175), (24.92, 60.16)]
    path = write_areas(tmp_path / "bowtie.geojson", {**HELSINKI_AREAS, "BOW": ("Bow", bowtie)})
    before = snapshot(con)
    with pytest.raises(IngestError, match=r"bowtie.geojson:feature 3: geometry: invalid polygon .*--repair"):
        ingest_file(con, settings, path, kind="areas")
    assert snapshot(con) == before
    result = ingest_file(con, settings, path, kind="areas", repair=True)
    assert result.accepted == 3 and result.parameters["repaired"] == 1
    assert con.execute("SELECT bool_and(ST_IsValid(geom)) FROM areas").fetchone()[0]


def test_areas_all_or_nothing(con, settings, tmp_path):
    doc = json.loads(write_areas(tmp_path / "a.geojson").read_text())
    doc["features"][1]["properties"]["code"] = "HEL-W"
    write_text(tmp_path / "dup.geojson", json.dumps(doc))
    with pytest.raises(IngestError, match=r"dup.geojson:feature 2: code: 'HEL-W' already used by feature 1"):
        ingest_file(con, settings, tmp_path / "dup.geojson", kind="areas")
    doc["features"][1]["geometry"] = {"type": "Point", "coordinates": [24.9, 60.1]}
    doc["features"][1]["properties"]["code"] = "P"
    write_text(tmp_path / "pt.geojson", json.dumps(doc))
    with pytest.raises(IngestError, match="expected Polygon or MultiPolygon, got Point"):
        ingest_file(con, settings, tmp_path / "pt.geojson", kind="areas")
    assert count(con, "areas") == 0


def test_new_boundaries_replace_old_and_assign_unplaced_concerns(con, settings, tmp_path):
    write_text(tmp_path / "c.csv", "id,date,lat,lon\n1,2025-01-01,60.1675,24.9305\n")
    ingest_file(con, settings, tmp_path / "c.csv", kind="concerns")
    assert con.execute("SELECT area_code FROM concerns").fetchone()[0] is None
    ingest_file(con, settings, write_areas(tmp_path / "a.geojson"), kind="areas")
    assert con.execute("SELECT area_code FROM concerns").fetchone()[0] == "HEL-W"


def test_layer_points_replace_the_layer(con, settings, tmp_path):
    def layer(n: int) -> str:
        return json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": f"node/{i}", "properties": {"name": f"Bar {i}", "amenity": "bar"},
             "geometry": {"type": "Point", "coordinates": [24.93 + i / 1000, 60.17]}} for i in range(n)]})  # fmt: skip

    first = ingest_file(
        con,
        settings,
        write_text(tmp_path / "bars.geojson", layer(3)),
        kind="layer",
        layer="licensed_premises",
    )
    assert first.accepted == 3
    ingest_file(
        con,
        settings,
        write_text(tmp_path / "bars2.geojson", layer(5)),
        kind="layer",
        layer="licensed_premises",
    )
    assert con.execute("SELECT count(*), min(properties->>'amenity') FROM layers").fetchone() == (5, "bar")
    with pytest.raises(IngestError, match="needs a name"):
        ingest_file(con, settings, tmp_path / "bars.geojson", kind="layer")


def test_policeuk_street_crime(con, settings, tmp_path):
    ingest_file(con, settings, write_areas(tmp_path / "a.geojson"), kind="areas")
    rows = [
        f"{CRIME_ID},2025-05,Helsinki Police,Helsinki Police,24.9300,60.1670,On or near Fredrikinkatu,HEL-W,Kamppi,"
        "Burglary,Under investigation,",
        ",2025-05,Helsinki Police,Helsinki Police,24.9500,60.1650,On or near Aleksanterinkatu,HEL-E,Kluuvi,"
        "Anti-social behaviour,,",
        f"{'b' * 64},2025-13,Helsinki Police,Helsinki Police,24.95,60.165,On or near X,HEL-E,Kluuvi,Drugs,,",
        f"{'c' * 64},2025-05,Helsinki Police,Helsinki Police,,,No location,,,Drugs,,",
    ]
    result = ingest_file(
        con, settings, write_text(tmp_path / "2025-05-street.csv", policeuk(rows)), kind="crime"
    )
    assert (result.format, result.accepted, result.rejected) == ("policeuk", 2, 2)
    assert result.errors == [
        "2025-05-street.csv:4: Month: not a YYYY-MM month",
        "2025-05-street.csv:5: Longitude/Latitude: missing location",
    ]
    assert con.execute(
        "SELECT crime_type, theme, area_code, month::VARCHAR FROM crime ORDER BY crime_type"
    ).fetchall() == [
        ("Anti-social behaviour", "asb", "HEL-E", "2025-05-01"),
        ("Burglary", "burglary", "HEL-W", "2025-05-01"),
    ]
    # The next month's file repeats a crime with an updated outcome: the crime id is not stored twice.
    again = ingest_file(con, settings, write_text(tmp_path / "b.csv", policeuk(rows[:1])), kind="crime")
    assert (again.accepted, again.duplicate) == (0, 1)


def test_policeuk_header_must_be_complete(con, settings, tmp_path):
    with pytest.raises(
        IngestError, match=r"x.csv:1: missing column\(s\) 'Reported by', 'Falls within', 'Location'"
    ):
        ingest_file(
            con,
            settings,
            write_text(tmp_path / "x.csv", "Crime ID,Month,Longitude,Latitude\n,2025-01,1,2\n"),
            kind="crime",
        )


def test_area_stats_with_decimal_commas(con, settings, tmp_path):
    ingest_file(con, settings, write_areas(tmp_path / "a.geojson"), kind="areas")
    text = "area_code;period;indicator;value\nHEL-W;2025;population;12 345\nHEL-E;2025;income;1.234,5\nNOPE;2025;population;3\n"
    result = ingest_file(con, settings, write_text(tmp_path / "stats.csv", text), kind="stats")
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.errors == ["stats.csv:4: area_code: no such area (load the areas first)"]
    assert con.execute("SELECT area_code, value FROM area_stats ORDER BY area_code").fetchall() == [
        ("HEL-E", 1234.5),
        ("HEL-W", 12345.0),
    ]
