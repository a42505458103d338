"""Concerns from CSV, GeoJSON and Open311 into a real store: formats, quirks, anonymisation, duplicates."""

from __future__ import annotations

import json

import pytest

from koban_geo.ingest import IngestError, ingest_file
from koban_geo.store.taxonomy import set_mapping
from tests.helpers import count, write_areas, write_text

FI_CSV = (
    "tunnus;ilmoitettu;leveysaste;pituusaste;aihe;kuvaus;nimi;puhelin\n"
    "a1;24.11.2025 13:45;60,1699;24,9384;Melu;Kova meteli joka yö;Matti Meikäläinen;040 123 4567\n"
    "a2;2025-11-02T22:10:00;60,1655;24,9512;Huumeet;Rappukäytävässä myydään jotain;Liisa;050 765 4321\n"
    "a3;03/11/2025 08:00;60,1702;24,9301;Katuvalaistus;Lamppu rikki;Pekka;045 111 2222\n"
)


@pytest.fixture
def areas(con, settings, tmp_path):
    ingest_file(con, settings, write_areas(tmp_path / "areas.geojson"), kind="areas")
    return con


def test_finnish_semicolon_csv_with_decimal_commas(areas, settings, tmp_path):
    path = write_text(tmp_path / "ilmoitukset.csv", FI_CSV)
    result = ingest_file(areas, settings, path, kind="concerns", source="helsinki")
    assert (result.accepted, result.rejected, result.exit_code) == (3, 0, 0)
    rows = areas.execute(
        "SELECT id, reported_at::VARCHAR, theme, theme_source, area_code FROM concerns ORDER BY id"
    ).fetchall()
    assert rows == [
        ("a1", "2025-11-24 13:00:00", "noise", "mapped", "HEL-W"),
        ("a2", "2025-11-02 22:00:00", "drugs", "mapped", "HEL-E"),
        ("a3", "2025-11-03 08:00:00", "lighting", "mapped", "HEL-W"),
    ]
    params = json.loads(
        areas.execute("SELECT parameters FROM ingest_batches WHERE kind = 'concerns'").fetchone()[0]
    )
    assert params["decimal_comma"] is True and params["delimiter"] == ";"
    assert set(params["anonymisation"]["dropped_columns"]) == {"nimi", "puhelin"}
    assert params["anonymisation"]["grid_m"] == 100


def test_stored_points_are_grid_centres_not_reported_points(areas, settings, tmp_path):
    ingest_file(areas, settings, write_text(tmp_path / "c.csv", FI_CSV), kind="concerns")
    crs = areas.execute("SELECT value FROM meta WHERE key = 'metric_crs'").fetchone()[0]
    assert crs == "EPSG:32635"  # UTM 35N holds Helsinki
    cells = areas.execute(
        "SELECT ST_X(m), ST_Y(m), snap_m FROM (SELECT snap_m, "
        "ST_Transform(geom, 'EPSG:4326', ?, always_xy := true) AS m FROM concerns)",
        [crs],
    ).fetchall()
    for x, y, cell in cells:
        assert abs((x - cell / 2) / cell - round((x - cell / 2) / cell)) < 0.01
        assert abs((y - cell / 2) / cell - round((y - cell / 2) / cell)) < 0.01
    reported = {(24.9384, 60.1699), (24.9512, 60.1655), (24.9301, 60.1702)}
    stored = set(areas.execute("SELECT ST_X(geom), ST_Y(geom) FROM concerns").fetchall())
    assert not reported & stored


def test_sensitive_theme_gets_the_coarser_grid(con, settings, tmp_path):
    text = "id,date,lat,lon,theme,text\n1,2025-01-01 10:00,60.17,24.94,domestic,x\n2,2025-01-01 10:00,60.17,24.94,noise,y\n"
    ingest_file(con, settings, write_text(tmp_path / "s.csv", text), kind="concerns")
    assert dict(con.execute("SELECT theme, snap_m FROM concerns").fetchall()) == {
        "domestic": 500,
        "noise": 100,
    }


HEADERS = {
    "en": "id,reported_at,latitude,longitude,category,description",
    "nl": "meldingnummer,datum melding,breedtegraad,lengtegraad,categorie,omschrijving",
    "fr": "identifiant,date du signalement,latitude,longitude,catégorie,description",
    "pl": "numer zgłoszenia,data zgłoszenia,szerokość geograficzna,długość geograficzna,kategoria,opis",
    "fi": "tunnus,ilmoitettu,leveysaste,pituusaste,aihe,kuvaus",
    "es": "identificador,fecha,latitud,longitud,categoría,descripción",
    "pt": "número,data de registo,latitude,longitude,categoria,descrição",
}


@pytest.mark.parametrize("lang", sorted(HEADERS))
def test_header_synonyms_in_seven_languages(con, settings, tmp_path, lang):
    body = "7,2025-03-01 09:30,60.17,24.94,noise,loud music\n"
    result = ingest_file(
        con, settings, write_text(tmp_path / f"{lang}.csv", HEADERS[lang] + "\n" + body), kind="concerns"
    )
    assert (result.accepted, result.rejected) == (1, 0)
    assert con.execute("SELECT id, theme FROM concerns").fetchall() == [("7", "noise")]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", ";"), ("latin-1", "\t"), ("utf-8", "\t"), ("utf-8", "|")],
)
def test_encodings_and_delimiters(con, settings, tmp_path, encoding, delimiter):
    text = "é café ’quote’ €5" if encoding == "cp1252" else "é café señal ação"
    rows = [
        ["id", "date", "lat", "lon", "theme", "text"],
        ["1", "2025-03-01", "60.17", "24.94", "litter", text],
    ]
    content = "\n".join(delimiter.join(r) for r in rows) + "\n"
    path = tmp_path / "enc.csv"
    path.write_bytes(content.encode(encoding))
    result = ingest_file(con, settings, path, kind="concerns")
    assert result.accepted == 1
    assert con.execute("SELECT description FROM concerns").fetchone()[0] == text
    assert result.parameters["delimiter"] == delimiter


def test_explicit_mapping_wins_over_detection(con, settings, tmp_path):
    text = "lat,lon,when,Y,X,what\n1,2,2025-01-01,60.17,24.94,noise\n"
    mapping = {"lat": "Y", "lon": "X", "reported_at": "when", "theme": "what"}
    result = ingest_file(
        con, settings, write_text(tmp_path / "m.csv", text), kind="concerns", mapping=mapping
    )
    assert result.accepted == 1
    lon, lat = con.execute("SELECT ST_X(geom), ST_Y(geom) FROM concerns").fetchone()
    assert abs(lon - 24.94) < 0.002 and abs(lat - 60.17) < 0.002


def test_timestamps_with_offsets_are_converted_to_the_local_zone(con, tmp_path):
    from koban_geo.store.settings import Settings

    local = Settings(db=tmp_path / "x.duckdb", timezone="Europe/Helsinki")
    text = "id,date,lat,lon\n1,2025-06-01T21:30:00Z,60.17,24.94\n2,2025-06-01 21:30,60.17,24.94\n"
    ingest_file(con, local, write_text(tmp_path / "tz.csv", text), kind="concerns")
    assert con.execute("SELECT id, reported_at::VARCHAR FROM concerns ORDER BY id").fetchall() == [
        ("1", "2025-06-02 00:00:00"),  # 21:30 UTC is 00:30 in Helsinki in summer; minutes dropped
        ("2", "2025-06-01 21:00:00"),
    ]


def test_reingesting_the_same_file_adds_nothing(con, settings, tmp_path):
    path = write_text(tmp_path / "c.csv", FI_CSV)
    first = ingest_file(con, settings, path, kind="concerns")
    again = ingest_file(con, settings, path, kind="concerns")
    assert again.already_ingested and again.batch_id == first.batch_id and again.exit_code == 0
    assert count(con, "concerns") == 3 and count(con, "ingest_batches") == 1


def test_overlapping_export_stores_only_new_ids(con, settings, tmp_path):
    ingest_file(con, settings, write_text(tmp_path / "c.csv", FI_CSV), kind="concerns", source="app")
    more = FI_CSV + "a4;05.11.2025 10:00;60,17;24,94;Melu;taas;X;0401234567\n"
    result = ingest_file(con, settings, write_text(tmp_path / "c2.csv", more), kind="concerns", source="app")
    assert (result.accepted, result.duplicate) == (1, 3)
    assert count(con, "concerns") == 4


def test_rows_without_id_get_stable_ids(con, settings, tmp_path):
    text = "date,lat,lon\n2025-01-01,60.17,24.94\n2025-01-02,60.17,24.94\n"
    ingest_file(con, settings, write_text(tmp_path / "noid.csv", text), kind="concerns", source="s")
    assert [r[0] for r in con.execute("SELECT id FROM concerns ORDER BY id").fetchall()] == [
        "s:csv:2",
        "s:csv:3",
    ]


def test_geojson_points(con, settings, tmp_path):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "g1", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
             "properties": {"reported_at": "2025-05-01T10:15:00", "category": "graffiti", "description": "tags"}},
            {"type": "Feature", "id": "g2", "geometry": {"type": "Point", "coordinates": [24.95, 60.165]},
             "properties": {"reported_at": "2025-05-02", "category": "vandalism"}},
        ],
    }  # fmt: skip
    path = write_text(tmp_path / "points.geojson", json.dumps(doc))
    result = ingest_file(con, settings, path, kind="concerns")
    assert (result.format, result.accepted) == ("geojson", 2)
    assert con.execute("SELECT id, theme FROM concerns ORDER BY id").fetchall() == [
        ("g1", "vandalism"),
        ("g2", "vandalism"),
    ]


def test_geojson_with_legacy_crs_member_is_reprojected(con, settings, tmp_path):
    # The origin of Dutch RD New (EPSG:28992), the Onze Lieve Vrouwetoren in Amersfoort: 5.387206 E, 52.155174 N.
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
        "features": [{"type": "Feature", "properties": {"id": "r1", "datum": "2025-02-01"},
                      "geometry": {"type": "Point", "coordinates": [155000.0, 463000.0]}}],
    }  # fmt: skip
    result = ingest_file(con, settings, write_text(tmp_path / "rd.geojson", json.dumps(doc)), kind="concerns")
    assert result.accepted == 1 and result.parameters["source_crs"] == "EPSG:28992"
    lon, lat = con.execute("SELECT ST_X(geom), ST_Y(geom) FROM concerns").fetchone()
    assert abs(lon - 5.387206) < 0.002 and abs(lat - 52.155174) < 0.002  # within the 100 m snap


def test_open311_requests_with_editable_service_mapping(con, settings, tmp_path):
    set_mapping(con, "open311:ILLDUMP", "litter")
    requests = [
        {"service_request_id": "638344", "status": "open", "service_code": "ILLDUMP", "service_name": "Illegal dumping",
         "description": "Mattress dumped by the bins", "requested_datetime": "2025-04-14T06:37:38-08:00",
         "address": "8TH AVE and JUDAH ST", "lat": 37.762221815, "long": -122.4651145, "media_url": "http://x/y.jpg"},
        {"service_request_id": "638345", "service_code": "OTHER", "service_name": "Streetlight out",
         "requested_datetime": "2025-04-15T10:00:00Z", "lat": 37.7622, "long": -122.4651},
    ]  # fmt: skip
    result = ingest_file(
        con, settings, write_text(tmp_path / "requests.json", json.dumps(requests)), kind="concerns"
    )
    assert (result.format, result.accepted) == ("open311", 2)
    assert con.execute("SELECT id, theme, theme_source FROM concerns ORDER BY id").fetchall() == [
        ("638344", "litter", "mapped"),
        ("638345", "lighting", "mapped"),
    ]
    assert "address" in result.parameters["anonymisation"]["dropped_columns"]
    assert "media_url" in result.parameters["anonymisation"]["dropped_columns"]


def test_row_errors_name_file_line_and_field(con, settings, tmp_path):
    text = (
        "id,date,lat,lon,theme\n"
        "1,2025-01-01,60.17,24.94,noise\n"
        "2,2025-01-01,95.0,24.94,noise\n"
        "3,31/02/2025,60.17,24.94,noise\n"
        "4,2025-01-01,,24.94,noise\n"
        "5,2025-01-01,60.17,abc,noise\n"
    )
    result = ingest_file(con, settings, write_text(tmp_path / "bad.csv", text), kind="concerns")
    assert result.errors == [
        "bad.csv:3: lat: out of range (-90..90)",
        "bad.csv:4: reported_at: not a date (use ISO 8601 or day-first DD-MM-YYYY)",
        "bad.csv:5: location: missing",
        "bad.csv:6: lon: not a number",
    ]
    assert (result.accepted, result.rejected, result.exit_code) == (1, 4, 1)
    assert [r[0] for r in con.execute("SELECT id FROM concerns").fetchall()] == ["1"]
    stored = json.loads(con.execute("SELECT errors FROM ingest_batches").fetchone()[0])
    assert stored == result.errors


def test_line_numbers_survive_quoted_newlines_and_blank_lines(con, settings, tmp_path):
    text = 'id,date,lat,lon,text\n1,2025-01-01,60.17,24.94,"two\nlines"\n\n2,2025-01-01,99,24.94,x\n'
    result = ingest_file(con, settings, write_text(tmp_path / "q.csv", text), kind="concerns")
    assert result.errors == ["q.csv:5: lat: out of range (-90..90)"]


def test_all_rows_rejected_stores_nothing(con, settings, tmp_path):
    text = "id,date,lat,lon\n1,nope,60.17,24.94\n2,2025-01-01,,\n"
    result = ingest_file(con, settings, write_text(tmp_path / "allbad.csv", text), kind="concerns")
    assert result.exit_code == 2 and result.batch_id is None
    assert count(con, "concerns") == 0 and count(con, "ingest_batches") == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty.csv: the file is empty"),
        ("binary.csv", bytes(range(256)) * 4, "binary.csv: this is a binary file, not CSV text"),
        ("quote.csv", b'id,date,lat,lon\n1,2025-01-01,60.17,"24.94\n', "quote.csv:2: unterminated quote"),
        (
            "cols.csv",
            b"id,date,lat,lon\n1,2025-01-01,60.17,24.94,extra\n",
            "cols.csv:2: expected 4 fields, found 5",
        ),
        ("nolat.csv", b"id,date,where\n1,2025-01-01,here\n", "nolat.csv:1: no column for lat, lon"),
        (
            "wrong.geojson",
            b"[1, 2, 3]",
            "wrong.geojson: wrong JSON type: expected a GeoJSON FeatureCollection",
        ),
        ("broken.geojson", b'{"type": "FeatureCollection", "features": [', "broken.geojson:1: invalid JSON"),
        ("obj.json", b'{"service_requests": 5}', "obj.json: wrong JSON type: expected an array of Open311"),
    ],
)
def test_unreadable_files_are_rejected_whole(con, settings, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    fmt = "open311" if name == "obj.json" else None
    with pytest.raises(IngestError) as err:
        ingest_file(con, settings, path, kind="concerns", fmt=fmt)
    assert str(err.value).startswith(message)
    assert count(con, "concerns") == 0 and count(con, "ingest_batches") == 0


def test_an_id_that_is_personal_data_is_hashed(con, settings, tmp_path):
    text = "id,date,lat,lon\njan.jansen@example.nl,2025-01-01,60.17,24.94\n"
    ingest_file(con, settings, write_text(tmp_path / "pid.csv", text), kind="concerns")
    (stored,) = con.execute("SELECT id FROM concerns").fetchone()
    assert stored.startswith("h:") and "jansen" not in stored


def test_path_that_does_not_exist(con, settings, tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(con, settings, tmp_path / "missing.csv", kind="concerns")


def test_metric_crs_setting_wins_and_is_fixed(con, tmp_path):
    from koban_geo.store.settings import Settings

    fixed = Settings(db=tmp_path / "x.duckdb", metric_crs="EPSG:3067")
    ingest_file(
        con,
        fixed,
        write_text(tmp_path / "a.csv", "id,date,lat,lon\n1,2025-01-01,60.17,24.94\n"),
        kind="concerns",
    )
    assert con.execute("SELECT value FROM meta WHERE key = 'metric_crs'").fetchone()[0] == "EPSG:3067"


def test_snapping_to_an_anonymous_points_layer(con, settings, tmp_path):
    anchors = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"p{i}", "properties": {}, "geometry": {"type": "Point", "coordinates": xy}}
        for i, xy in enumerate([[24.9400, 60.1700], [24.9500, 60.1700]])]}  # fmt: skip
    ingest_file(
        con,
        settings,
        write_text(tmp_path / "anchors.geojson", json.dumps(anchors)),
        kind="layer",
        layer="anon",
    )
    text = (
        "id,date,lat,lon,theme\n"
        "near-west,2025-01-01,60.1702,24.9410,noise\n"  # ~60 m from the first anchor
        "near-east,2025-01-01,60.1699,24.9489,noise\n"  # ~60 m from the second
        "far,2025-01-01,60.1800,24.9400,noise\n"  # ~1.1 km from both: falls back to the grid
        "hidden,2025-01-01,60.1702,24.9410,domestic\n"  # sensitive: always the coarse grid
    )
    snapped = settings.replace(anonymous_points_layer="anon")
    result = ingest_file(con, snapped, write_text(tmp_path / "c.csv", text), kind="concerns")
    assert result.parameters["anonymisation"]["anonymous_points_layer"] == "anon"
    rows = {
        r[0]: r[1:] for r in con.execute("SELECT id, ST_X(geom), ST_Y(geom), snap_m FROM concerns").fetchall()
    }
    assert rows["near-west"] == (24.94, 60.17, 0)
    assert rows["near-east"] == (24.95, 60.17, 0)
    assert rows["far"][2] == 100 and rows["hidden"][2] == 500


def test_snapping_to_a_missing_layer_is_refused(con, settings, tmp_path):
    snapped = settings.replace(anonymous_points_layer="nope")
    with pytest.raises(IngestError, match="no layer named 'nope' to snap to"):
        ingest_file(
            con,
            snapped,
            write_text(tmp_path / "c.csv", "id,date,lat,lon\n1,2025-01-01,60.17,24.94\n"),
            kind="concerns",
        )


def test_repeat_reports_share_a_group_but_a_persistent_problem_does_not_collapse(con, settings, tmp_path):
    rows = ["id,date,lat,lon,theme"]
    # One resident, five reports of the same noise in three days at one spot:
    rows += [f"r{i},2025-03-0{1 + i // 2} 1{i}:00,60.1700,24.9400,noise" for i in range(5)]
    # The same spot, a week later: a new group. Another theme at the same spot: its own group.
    rows += ["later,2025-03-10 22:00,60.1700,24.9400,noise", "litter,2025-03-01 10:00,60.1700,24.9400,litter"]
    # The same theme 300 m away: its own group.
    rows += ["elsewhere,2025-03-01 21:00,60.1727,24.9400,noise"]
    ingest_file(
        con, settings, write_text(tmp_path / "g.csv", "\n".join(rows) + "\n"), kind="concerns", source="s"
    )
    groups = dict(con.execute("SELECT id, group_id FROM concerns").fetchall())
    assert len({groups[f"r{i}"] for i in range(5)}) == 1
    assert len(set(groups.values())) == 4
    # A later batch joins the open group when it falls in its window.
    more = "id,date,lat,lon,theme\nr5,2025-03-03 23:00,60.1700,24.9400,noise\n"
    ingest_file(con, settings, write_text(tmp_path / "g2.csv", more), kind="concerns", source="s")
    assert con.execute("SELECT group_id FROM concerns WHERE id = 'r5'").fetchone()[0] == groups["r0"]


def test_rows_without_a_known_theme_are_classified_and_unsure_ones_flagged(con, settings, tmp_path):
    text = (
        "id,date,lat,lon,theme,text\n"
        "1,2025-01-01,60.17,24.94,,Loud music and shouting from the flat upstairs every night until 3am\n"
        "2,2025-01-01,60.17,24.94,Onbekend,ok\n"
    )
    result = ingest_file(con, settings, write_text(tmp_path / "u.csv", text), kind="concerns")
    rows = {
        r[0]: r[1:]
        for r in con.execute("SELECT id, theme, theme_source, needs_review FROM concerns").fetchall()
    }
    assert rows["1"][1] == "classified"
    assert rows["2"] == ("other", "classified", True)
    assert result.parameters["unmapped_theme_labels"] == {"onbekend": 1}


def test_every_row_is_accounted_for_inside_and_outside_the_areas(areas, settings, tmp_path):
    """Guards against a spatial LEFT JOIN planned as a RIGHT join, which once lost rows silently."""
    import random

    rng = random.Random(5)
    lines = ["id,date,lat,lon,theme"]
    for i in range(20_000):  # half inside the two areas (24.92-24.96 E), half east of them
        lon = rng.uniform(24.921, 24.959) if i % 2 else rng.uniform(24.97, 25.05)
        lines.append(f"{i},2025-01-01 10:00,{rng.uniform(60.161, 60.174):.6f},{lon:.6f},noise")
    result = ingest_file(
        areas, settings, write_text(tmp_path / "many.csv", "\n".join(lines) + "\n"), kind="concerns"
    )
    assert (result.read, result.accepted, result.rejected) == (20_000, 20_000, 0)
    inside, outside = areas.execute(
        "SELECT count(area_code), count(*) FILTER (WHERE area_code IS NULL) FROM concerns"
    ).fetchone()
    assert (inside, outside) == (10_000, 10_000)


def test_a_csv_too_large_for_the_free_memory_is_refused_before_anything_is_stored(
    con, settings, tmp_path, monkeypatch
):
    import koban_geo.ingest as ingest
    from tests.helpers import snapshot

    rows = "1,2025-01-01,60.17,24.93,noise\n" * 1000
    path = write_text(tmp_path / "big.csv", "id,date,lat,lon,theme\n" + rows)
    before = snapshot(con)
    monkeypatch.setattr(ingest, "available_memory", lambda: 100_000)  # 100 kB free
    with pytest.raises(IngestError, match=r"big\.csv: too large to store as one batch.*split the file"):
        ingest_file(con, settings, path)
    assert snapshot(con) == before
    monkeypatch.setattr(ingest, "available_memory", lambda: None)  # unknown: no guess, the ingest runs
    assert ingest_file(con, settings, path).accepted == 1


def _place_keys(con):
    return con.execute(
        "SELECT id, place_x, place_y, unit_key, ST_X(m), ST_Y(m), hash(coalesce(group_id, source || '/' || id)) "
        "FROM (SELECT *, ST_Transform(geom, 'EPSG:4326', 'EPSG:32635', always_xy := true) AS m FROM concerns) "
        "ORDER BY id"
    ).fetchall()


def test_place_keys_are_the_snapped_point_and_the_group(areas, settings, tmp_path):
    """Ingest stores what the counting queries group by (migration 0008): the snapped point in the metric CRS
    (never the reported one) and the hash of the near-duplicate group."""
    text = FI_CSV + "a4;24.11.2025 14:10;60,1699;24,9384;Melu;Taas meteliä;;\n"  # same place and theme as a1
    ingest_file(areas, settings, write_text(tmp_path / "c.csv", text), kind="concerns")
    rows = _place_keys(areas)
    assert len(rows) == 4
    for _id, x, y, unit, mx, my, expected_unit in rows:
        assert (x, y, unit) == (mx, my, expected_unit)
        # a 100 m cell centre (lon/lat kept to 6 decimals: within centimetres), not the reported point
        assert (x % 100, y % 100) == pytest.approx((50, 50), abs=0.1)
    units = {r[0]: r[3] for r in rows}
    assert units["a1"] == units["a4"] != units["a2"]


def test_migration_0008_fills_the_place_keys_of_an_older_store(areas, settings, tmp_path):
    import duckdb

    from koban_geo.store.db import connect, load_spatial, migrations

    ingest_file(areas, settings, write_text(tmp_path / "c.csv", FI_CSV), kind="concerns")
    before = _place_keys(areas)
    old_columns = "source, id, reported_at, theme, theme_source, geom, snap_m, area_code, batch_id, group_id"
    rows = areas.execute(f"SELECT {old_columns.replace('geom', 'ST_AsText(geom)')} FROM concerns").fetchall()
    crs = areas.execute("SELECT value FROM meta WHERE key = 'metric_crs'").fetchone()[0]
    old_path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(old_path))  # a store made before 0008: migrations 1-7, then these rows
    load_spatial(old)
    for version, name, path in migrations():
        if version <= 7:
            old.execute(path.read_text(encoding="utf-8"))
            old.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, name])
    old.execute("INSERT INTO meta VALUES ('metric_crs', ?)", [crs])
    for (batch,) in {(r[8],) for r in rows}:  # every stored row has its batch record (else it is torn)
        old.execute(
            "INSERT INTO ingest_batches (id, kind, format, file_name, sha256, rows_read, rows_accepted, "
            "rows_rejected, rows_duplicate, parameters, errors, started_at, finished_at) "
            "VALUES (?, 'concerns', 'csv', 'c.csv', 'x', 3, 3, 0, 0, '{}', '[]', now(), now())",
            [batch],
        )
    old.executemany(
        f"INSERT INTO concerns ({old_columns}) VALUES (?, ?, ?, ?, ?, ST_GeomFromText(?::VARCHAR), ?, ?, ?, ?)",
        rows,
    )
    assert old.execute("SELECT count(*) FROM concerns").fetchone()[0] == 3
    old.close()
    con = connect(old_path)
    try:
        assert _place_keys(con) == before
    finally:
        con.close()


MIXED_LINES = [
    ("1", "Ruido en Calle Núñez 12 cada noche", "Ruido en [ADDRESS] cada noche"),
    ("2", "Barulho na Rua São Bento 45 à noite", "Barulho na [ADDRESS] à noite"),
    ("3", "Lärm vor Größestraße 5 jede Nacht", "Lärm vor [ADDRESS] jede Nacht"),
]


def _mixed_csv(path, latin1_ids: set[str]):
    lines = [b"id,date,lat,lon,theme,text\n"]
    for n, text, _ in MIXED_LINES:
        encoding = "latin-1" if n in latin1_ids else "utf-8"
        lines.append(f"{n},2025-03-0{n},60.17,24.94,noise,{text}\n".encode(encoding))
    path.write_bytes(b"".join(lines))
    return path


@pytest.mark.parametrize("latin1_ids", [{"2"}, {"1", "3"}, {"1", "2", "3"}])
def test_a_utf8_file_with_stray_latin1_lines_is_decoded_per_line(con, settings, tmp_path, latin1_ids):
    """Issue 13 item 5: one Latin-1 byte used to make the whole file Latin-1: every accent became mojibake,
    and the scrubber missed the addresses. Now each line is UTF-8 if it is, else cp1252; the batch says which."""
    path = _mixed_csv(tmp_path / "mixed.csv", latin1_ids)
    result = ingest_file(con, settings, path, kind="concerns")
    assert (result.accepted, result.rejected) == (3, 0)
    stored = dict(con.execute("SELECT id, description FROM concerns").fetchall())
    assert {k.rsplit(":", 1)[-1]: v for k, v in stored.items()} == {n: want for n, _, want in MIXED_LINES}
    lines = sorted(int(n) + 1 for n in latin1_ids)
    if len(latin1_ids) == 3:  # no line is UTF-8 beyond ASCII: a cp1252 file, as before
        assert result.parameters["encoding"] == "cp1252" and not result.warnings
        return
    assert result.parameters["encoding"] == "utf-8+cp1252"
    assert result.parameters["lines_read_as_cp1252"] == {"count": len(lines), "first": lines}
    assert result.warnings == [
        f"mixed.csv: {len(lines)} line(s) not valid UTF-8, read as cp1252: {', '.join(map(str, lines))}; "
        "check their accents"
    ]


def test_decomposed_accents_are_composed_before_scrubbing(con, settings, tmp_path):
    import unicodedata

    text = unicodedata.normalize("NFD", "Ruido en Calle Núñez 12 y Größestraße 5")
    path = write_text(
        tmp_path / "nfd.csv", f"id,date,lat,lon,theme,text\n1,2025-03-01,60.17,24.94,noise,{text}\n"
    )
    ingest_file(con, settings, path, kind="concerns")
    assert con.execute("SELECT description FROM concerns").fetchone()[0] == "Ruido en [ADDRESS] y [ADDRESS]"
