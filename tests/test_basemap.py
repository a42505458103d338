"""The basemap build (koban_geo.basemap) on the real central-Helsinki OpenStreetMap extract: the archive's
zoom range, order and layers, what the tiles hold (Helsinki's streets by name, buildings, parks, water,
rail, places), and the CLI's answers to bad input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType, deserialize_directory, tileid_to_zxy, zxy_to_tileid

from koban_geo.basemap import LAYERS, BasemapError, build_basemap, default_path, open_archive
from koban_geo.cli.main import cli
from tests.mvt import decode


@pytest.fixture(scope="module")
def tiles(helsinki_basemap: Path) -> dict[tuple[int, int, int], dict]:
    with helsinki_basemap.open("rb") as fh:
        return {zxy: decode(data) for zxy, data in all_tiles(MmapSource(fh))}


def test_the_archive_is_clustered_gzipped_vector_tiles_from_zoom_12_to_17(helsinki_basemap: Path) -> None:
    with helsinki_basemap.open("rb") as fh:
        reader = Reader(MmapSource(fh))
        header = reader.header()
        meta = reader.metadata()
        root = deserialize_directory(reader.get_bytes(header["root_offset"], header["root_length"]))
    assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
    assert (header["min_zoom"], header["max_zoom"]) == (12, 17)
    assert header["clustered"]  # tiles written in ascending tile-id order
    ids = [e.tile_id for e in root]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert sorted(ids) == ids and [tileid_to_zxy(i)[0] for i in ids] == sorted(
        tileid_to_zxy(i)[0] for i in ids
    )
    # the extract's extent: central Helsinki
    w, s, e, n = (header[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7"))
    assert 24.93 < w < e < 24.96 and 60.16 < s < n < 60.18
    assert [layer["id"] for layer in meta["vector_layers"]] == list(LAYERS)
    assert meta["attribution"] == "© OpenStreetMap contributors"


def test_every_zoom_covers_the_extract(tiles) -> None:
    per_zoom = Counter(z for z, _x, _y in tiles)
    assert sorted(per_zoom) == list(range(12, 18))
    assert per_zoom[12] >= 1 and per_zoom[17] > per_zoom[16] > per_zoom[15]
    # the railway station (24.9415, 60.1710) is in a tile at every zoom
    for z in range(12, 18):
        from math import asinh, pi, radians, tan

        x = int((24.9415 + 180) / 360 * 2**z)
        y = int((1 - asinh(tan(radians(60.1710))) / pi) / 2 * 2**z)
        assert (z, x, y) in tiles, z


def test_layers_use_the_protomaps_names_and_kinds(tiles) -> None:
    kinds: dict[str, set] = {}
    for layers in tiles.values():
        assert set(layers) <= set(LAYERS)
        assert list(layers) == [name for name in LAYERS if name in layers]  # drawing order
        for name, layer in layers.items():
            assert layer["extent"] == 4096
            kinds.setdefault(name, set()).update(f["properties"].get("kind") for f in layer["features"])
    assert {"highway", "major_road", "minor_road", "path", "rail"} - {"highway"} <= kinds["roads"]
    assert kinds["buildings"] == {"building"}
    assert {"park", "pedestrian", "grass"} <= kinds["landuse"]
    assert "water" in kinds["water"]
    assert {"locality", "neighbourhood"} <= kinds["places"]
    assert {"station", "square", "park"} <= kinds["pois"]
    assert kinds["earth"] == {"earth"}


def test_street_and_place_names_are_in_the_tiles(tiles) -> None:
    roads = Counter()
    places = set()
    for layers in tiles.values():
        for f in layers.get("roads", {}).get("features", []):
            if f["properties"].get("name"):
                roads[(f["properties"]["name"], f["properties"]["kind"])] += 1
        places |= {f["properties"]["name"] for f in layers.get("places", {}).get("features", [])}
    assert ("Mannerheimintie", "major_road") in roads
    assert ("Aleksanterinkatu", "major_road") in roads or ("Aleksanterinkatu", "minor_road") in roads
    assert {"Helsinki", "Kluuvi", "Kaisaniemi"} <= places


def test_minor_features_appear_at_their_zoom(tiles) -> None:
    at = {z: Counter() for z in range(12, 18)}
    for (z, _x, _y), layers in tiles.items():
        for name, layer in layers.items():
            for f in layer["features"]:
                at[z][(name, f["properties"].get("kind"))] += 1
                assert f["properties"].get("min_zoom", 0) <= z
    assert at[12][("roads", "path")] == 0 and at[14][("roads", "path")] > 0
    assert at[13][("buildings", "building")] == 0 and at[14][("buildings", "building")] > 0
    assert at[12][("roads", "major_road")] > 0


def test_tiles_are_read_back_by_zxy(helsinki_basemap: Path) -> None:
    archive = open_archive(helsinki_basemap)
    assert archive is not None and archive.gzip_tiles
    with helsinki_basemap.open("rb") as fh:
        stored = dict(all_tiles(MmapSource(fh)))
    for (z, x, y), data in stored.items():
        assert archive.tile(z, x, y) == data
    assert archive.tile(17, 0, 0) is None and archive.tile(11, 1165, 592) is None
    assert open_archive(helsinki_basemap) is archive  # opened once per version of the file
    assert zxy_to_tileid(12, 0, 0) < min(zxy_to_tileid(*k) for k in stored)


def test_the_same_extract_gives_the_same_archive(helsinki_basemap: Path, tmp_path: Path) -> None:
    from koban_geo.basemap import demo_extract

    extract = demo_extract()
    assert extract is not None
    again = build_basemap(extract, tmp_path / "again.pmtiles")
    assert again.path.read_bytes() == helsinki_basemap.read_bytes()
    assert again.tiles == sum(again.tiles_per_zoom.values()) and again.features["roads"] > 1000


def test_default_place_is_beside_the_store() -> None:
    assert default_path(Path("/srv/koban.duckdb")) == Path("/srv/koban.basemap.pmtiles")


@pytest.mark.parametrize(
    ("name", "content", "options", "says"),
    [
        ("missing.osm.pbf", None, {}, "no OpenStreetMap extract at"),
        ("roads.geojson", b"{}", {}, "is not an .osm.pbf file"),
        ("broken.osm.pbf", b"\x00\x00\x00\x0ejunk" * 10, {}, "could not be read as an OpenStreetMap extract"),
        ("ok.osm.pbf", "helsinki", {"minzoom": 15, "maxzoom": 12}, "zoom levels must satisfy"),
        ("ok.osm.pbf", "helsinki", {"maxzoom": 19}, "zoom levels must satisfy"),
    ],
)
def test_bad_input_is_one_clear_sentence(tmp_path: Path, name, content, options, says) -> None:
    from koban_geo.basemap import demo_extract

    path = tmp_path / name
    if content == "helsinki":
        extract = demo_extract()
        if extract is None:
            pytest.skip("the demo extract is missing: run `make demo-extract`")
        path = extract
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(BasemapError, match=says):
        build_basemap(path, tmp_path / "out.pmtiles", **options)
    assert not (tmp_path / "out.pmtiles").exists()


def test_cli_builds_beside_the_store_and_says_what_it_wrote(helsinki_basemap: Path, tmp_path: Path) -> None:
    from koban_geo.basemap import demo_extract

    extract = demo_extract()
    assert extract is not None
    db = tmp_path / "koban.duckdb"
    runner = CliRunner()
    done = runner.invoke(cli, ["--db", str(db), "basemap", "build", str(extract), "--maxzoom", "14"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "koban.basemap.pmtiles").is_file()
    assert "zoom 12-14" in done.output and "tiles" in done.output
    assert not db.exists()  # building a basemap does not create a store
    info = runner.invoke(cli, ["--db", str(db), "basemap", "info"])
    assert info.exit_code == 0 and '"maxzoom": 14' in info.output and '"roads"' in info.output


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["basemap", "build", str(tmp_path / "nowhere.osm.pbf")])
    assert missing.exit_code == 2 and "no OpenStreetMap extract at" in missing.output
    wrong_out = runner.invoke(cli, ["basemap", "build", str(tmp_path / "x.osm.pbf"), "--out", "x.mbtiles"])
    assert wrong_out.exit_code == 2
    nothing = runner.invoke(cli, ["--db", str(tmp_path / "k.duckdb"), "basemap", "info"])
    assert nothing.exit_code == 2 and "koban-geo basemap build" in nothing.output


def test_doctor_says_which_base_map_is_drawn(helsinki_basemap: Path, tmp_path: Path) -> None:
    from koban_geo.ops import doctor
    from koban_geo.store.settings import Settings

    built = Settings(db=tmp_path / "k.duckdb", basemap=helsinki_basemap)
    assert f"the offline basemap {helsinki_basemap}" in doctor.check_tiles(built).message
    none = Settings(db=tmp_path / "k.duckdb")
    check = doctor.check_tiles(none)
    assert check.ok and "no offline basemap" in check.message and "koban-geo basemap build" in check.fix
    server = Settings(db=tmp_path / "k.duckdb", basemap=helsinki_basemap,
                      tiles_url="/tiles/{z}/{x}/{y}.png")  # fmt: skip
    assert "tiles from this machine" in doctor.check_tiles(server).message  # a tile server wins
