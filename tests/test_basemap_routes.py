"""The basemap's HTTP routes (dashboard/web/tiles.py) through Starlette's TestClient, with the app's own
middleware: tiles by z/x/y out of the real demo archive, and the whole archive with Range requests."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from koban_geo.basemap import open_archive
from tests.mvt import decode
from web import middleware
from web.tiles import ARCHIVE_PATH, tile_routes

# A tile of central Helsinki at zoom 15 (Kluuvi, the railway station): Mannerheimintie runs through it.
HELSINKI_15 = (15, 18654, 9484)


@pytest.fixture
def client(helsinki_basemap: Path) -> TestClient:
    app = Starlette(routes=tile_routes(lambda: helsinki_basemap), middleware=middleware())
    return TestClient(app, base_url="http://127.0.0.1")


def _url(z: int, x: int, y: int) -> str:
    return f"/basemap/tiles/{z}/{x}/{y}.mvt"


def test_a_tile_comes_gzipped_with_its_layers_and_street_names(client: TestClient) -> None:
    resp = client.get(_url(*HELSINKI_15), headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert resp.headers["content-encoding"] == "gzip"  # httpx unpacked it, as a browser does
    assert "max-age" in resp.headers["cache-control"] and resp.headers["etag"].startswith('"')
    assert resp.headers["content-security-policy"].startswith(
        "default-src 'self'"
    )  # the app's middleware ran
    layers = decode(resp.content)
    assert {"earth", "roads", "buildings", "landuse"} <= set(layers)
    names = {f["properties"].get("name") for f in layers["roads"]["features"]}
    assert "Mannerheimintie" in names


def test_a_client_without_gzip_gets_the_tile_plain(client: TestClient) -> None:
    resp = client.get(_url(*HELSINKI_15), headers={"Accept-Encoding": "identity"})
    assert resp.status_code == 200 and "content-encoding" not in resp.headers
    assert resp.content[:2] != b"\x1f\x8b" and "roads" in decode(resp.content)


def test_missing_tiles_are_empty_answers_and_bad_ones_404(client: TestClient) -> None:
    assert client.get(_url(15, 0, 0)).status_code == 204  # in range, outside the extract
    assert client.get(_url(11, 1166, 592)).status_code == 204  # below the archive's zoom levels
    assert client.get(_url(3, 8, 0)).status_code == 404  # x beyond the world at zoom 3
    assert client.get("/basemap/tiles/15/a/1.mvt").status_code == 404


def test_a_known_tile_is_not_sent_again(client: TestClient) -> None:
    first = client.get(_url(*HELSINKI_15))
    again = client.get(_url(*HELSINKI_15), headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_head_of_a_tile(client: TestClient) -> None:
    resp = client.head(_url(*HELSINKI_15), headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.content == b""


def test_the_archive_honours_range_requests(client: TestClient, helsinki_basemap: Path) -> None:
    whole = helsinki_basemap.read_bytes()
    size = len(whole)
    head = client.head(ARCHIVE_PATH)
    assert head.status_code == 200 and head.headers["accept-ranges"] == "bytes"
    assert int(head.headers["content-length"]) == size and head.headers["etag"]

    part = client.get(ARCHIVE_PATH, headers={"Range": "bytes=0-126"})  # the PMTiles header
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 0-126/{size}"
    assert part.content == whole[:127] and part.content.startswith(b"PMTiles\x03")
    # a PMTiles reader's next step: the root directory, where the header says it is
    archive = open_archive(helsinki_basemap)
    assert archive is not None
    start, length = archive.header["root_offset"], archive.header["root_length"]
    root = client.get(ARCHIVE_PATH, headers={"Range": f"bytes={start}-{start + length - 1}"})
    assert root.status_code == 206 and root.content == whole[start : start + length]
    assert gzip.decompress(root.content)  # a gzip-compressed directory, as the spec says

    tail = client.get(ARCHIVE_PATH, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    beyond = client.get(ARCHIVE_PATH, headers={"Range": f"bytes={size}-{size + 10}"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    assert client.get(ARCHIVE_PATH).content == whole


def test_no_basemap_is_a_404(tmp_path: Path) -> None:
    app = Starlette(routes=tile_routes(lambda: None))
    with TestClient(app) as plain:
        assert plain.get(_url(*HELSINKI_15)).status_code == 404
        assert plain.get(ARCHIVE_PATH).status_code == 404
    broken = tmp_path / "broken.pmtiles"
    broken.write_bytes(b"not an archive" * 20)
    with TestClient(Starlette(routes=tile_routes(lambda: broken))) as bad:
        assert bad.get(_url(*HELSINKI_15)).status_code == 404
        assert bad.get(ARCHIVE_PATH).status_code == 404


def test_the_archive_is_found_from_the_settings(
    helsinki_basemap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web import tiles

    db = tmp_path / "koban.duckdb"
    beside = tmp_path / "koban.basemap.pmtiles"
    beside.write_bytes(helsinki_basemap.read_bytes())
    monkeypatch.setenv("KOBAN_DB", str(db))
    monkeypatch.delenv("KOBAN_BASEMAP", raising=False)
    monkeypatch.setenv("KOBAN_TILES_URL", "")
    assert tiles.configured_archive() == beside
    monkeypatch.setenv("KOBAN_BASEMAP", str(helsinki_basemap))
    assert tiles.configured_archive() == helsinki_basemap
    monkeypatch.setenv("KOBAN_TILES_URL", "https://tiles.example.police/{z}/{x}/{y}.png")
    assert tiles.configured_archive() is None  # the force's own tile server wins
