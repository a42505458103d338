"""Cut an OpenStreetMap extract (.osm.pbf) into one PMTiles archive of vector tiles, with DuckDB spatial.

The SQL does the geography (sql/queries/basemap_*.sql): `ST_ReadOSM` reads the extract, ways and multipolygon
relations become lines and polygons, each is sorted into a Protomaps basemap v4 layer with the `kind` and
`name` properties the map's style filters on, and `ST_AsMVTGeom` + `ST_AsMVT` cut every layer of every tile of
every zoom level. Python only gzips each tile and writes the archive with the `pmtiles` package, tiles in
ascending tile-id order so that the archive is clustered (readers then fetch neighbouring tiles together).

    >>> LAYERS[0], LAYERS[-1]
    ('earth', 'pois')
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from koban_geo.store.db import StoreError, load_spatial
from koban_geo.store.sql import query

# Layers in drawing order (bottom first), each a Protomaps basemap v4 layer name.
LAYERS: tuple[str, ...] = ("earth", "landuse", "water", "roads", "buildings", "places", "pois")
# The properties a feature may carry (a NULL one is left out of the tile), and what they hold.
FIELDS: dict[str, str] = {
    "kind": "String",  # e.g. roads: highway, major_road, minor_road, path, rail; landuse: park, pedestrian...
    "kind_detail": "String",  # the OSM tag value behind the kind (residential, footway, tram...)
    "name": "String",  # the local name (OSM `name`)
    "min_zoom": "Number",  # first zoom level the feature is in
    "is_tunnel": "Boolean",
    "is_bridge": "Boolean",
}
MIN_ZOOM, MAX_ZOOM = 12, 17  # streets and names are readable from 12; 17 is about one building per 20 px
HIGHEST_ZOOM = 18  # beyond it a tile holds a few metres: overzoom 17 or 18 in the browser instead
EXTENT = 4096  # tile coordinate units (the MVT default)
BUFFER = 64  # units drawn beyond a tile's edge, so lines and labels meet across tiles
MIN_PIXELS = 4  # polygons smaller than this many screen pixels (256-px tiles) are left out at a zoom
SIMPLIFY_PIXELS = 0.5  # lines and polygons are simplified to half a screen pixel at each zoom
ATTRIBUTION = "© OpenStreetMap contributors"
_HALF = 20037508.342789244  # half the width of the Web Mercator world, metres


class BasemapError(ValueError):
    """A problem with the extract or the options that the user can fix; the message is one sentence."""


@dataclass(frozen=True)
class BuildReport:
    """What a build wrote (printed by `koban-geo basemap build`, recorded in docs/basemap.md)."""

    path: Path
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat of the extract
    tiles: int  # tiles written
    size: int  # bytes of the archive
    seconds: float
    features: dict[str, int] = field(default_factory=dict)  # per layer
    tiles_per_zoom: dict[int, int] = field(default_factory=dict)


def build_basemap(
    extract: Path,
    out: Path,
    *,
    minzoom: int = MIN_ZOOM,
    maxzoom: int = MAX_ZOOM,
    progress: Callable[[str], None] | None = None,
) -> BuildReport:
    """Write the basemap of `extract` (an .osm.pbf file) to `out` (a .pmtiles file), zoom minzoom..maxzoom.

    The archive is written beside `out` and moved into place at the end, so a server reading the old one
    never sees half a file. Raises BasemapError for a missing or unreadable extract, a bad zoom range, or an
    extract with nothing to draw.
    """
    started = time.perf_counter()
    _check_options(extract, out, minzoom, maxzoom)
    say = progress or (lambda _message: None)
    con = _connect()
    try:
        try:
            query(con, "basemap_osm", {"path": str(extract)})
        except duckdb.Error as exc:
            raise BasemapError(
                f"{extract} could not be read as an OpenStreetMap extract (.osm.pbf): "
                f"{str(exc).splitlines()[0]}"
            ) from exc
        query(con, "basemap_features")
        features = dict(
            con.execute("SELECT layer, count(*) FROM bm_features GROUP BY layer ORDER BY layer").fetchall()
        )
        if sum(n for layer, n in features.items() if layer != "earth") == 0:
            raise BasemapError(
                f"{extract} holds no streets, buildings, water, parks or places to draw (is it an empty extract?)"
            )
        bounds = _bounds(con)
        say(f"read {extract.name}: " + ", ".join(f"{n} {layer}" for layer, n in sorted(features.items())))
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        try:
            per_zoom = _write(con, partial, minzoom, maxzoom, bounds, extract.name, say)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        con.close()
    return BuildReport(
        path=out,
        minzoom=minzoom,
        maxzoom=maxzoom,
        bounds=bounds,
        tiles=sum(per_zoom.values()),
        size=out.stat().st_size,
        seconds=time.perf_counter() - started,
        features=features,
        tiles_per_zoom=per_zoom,
    )


def _check_options(extract: Path, out: Path, minzoom: int, maxzoom: int) -> None:
    if not extract.is_file():
        raise BasemapError(f"no OpenStreetMap extract at {extract}")
    if not extract.name.endswith(".pbf"):
        raise BasemapError(
            f"{extract.name} is not an .osm.pbf file: download an OpenStreetMap extract in PBF format"
        )
    if not 0 <= minzoom <= maxzoom <= HIGHEST_ZOOM:
        raise BasemapError(
            f"zoom levels must satisfy 0 <= minzoom <= maxzoom <= {HIGHEST_ZOOM} (got {minzoom}..{maxzoom})"
        )
    if out.suffix != ".pmtiles":
        raise BasemapError(f"the output file must end in .pmtiles (got {out.name})")


def _connect() -> duckdb.DuckDBPyConnection:
    """A throw-away in-memory DuckDB with the spatial extension (no store, no migrations)."""
    con = duckdb.connect(
        ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute("SET enable_progress_bar = false")  # the CLI prints its own progress, one line per zoom
    try:
        load_spatial(con)
    except StoreError as exc:
        con.close()
        raise BasemapError(str(exc)) from exc
    return con


def _bounds(con: duckdb.DuckDBPyConnection) -> tuple[float, float, float, float]:
    row = con.execute(
        "SELECT min(lon), min(lat), max(lon), max(lat) FROM bm_osm WHERE kind = 'node'"
    ).fetchone()
    if row is None or row[0] is None:
        raise BasemapError("the extract has no nodes")
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def _write(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    minzoom: int,
    maxzoom: int,
    bounds: tuple[float, float, float, float],
    source: str,
    say: Callable[[str], None],
) -> dict[int, int]:
    """Cut and write every zoom level, in ascending tile-id order (zoom by zoom, Hilbert order inside one)."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import write

    per_zoom: dict[int, int] = {}
    with write(str(path)) as writer:
        for z in range(minzoom, maxzoom + 1):
            tiles = _cut(con, z)
            for tile_id, data in sorted((zxy_to_tileid(z, x, y), data) for (x, y), data in tiles.items()):
                writer.write_tile(tile_id, gzip.compress(data, compresslevel=9, mtime=0))
            per_zoom[z] = len(tiles)
            say(f"zoom {z}: {len(tiles)} tiles")
        if not sum(per_zoom.values()):
            raise BasemapError("the extract produced no tiles at these zoom levels")
        e7 = [round(v * 10_000_000) for v in bounds]
        header: dict[str, Any] = {
            "tile_type": TileType.MVT,
            "tile_compression": Compression.GZIP,
            "min_lon_e7": e7[0],
            "min_lat_e7": e7[1],
            "max_lon_e7": e7[2],
            "max_lat_e7": e7[3],
            "center_zoom": min(max(minzoom, 14), maxzoom),
            "center_lon_e7": (e7[0] + e7[2]) // 2,
            "center_lat_e7": (e7[1] + e7[3]) // 2,
        }
        writer.finalize(header, _metadata(source, minzoom, maxzoom))
    return per_zoom


def _cut(con: duckdb.DuckDBPyConnection, z: int) -> dict[tuple[int, int], bytes]:
    """Every tile of zoom z as one MVT blob: the layers' blobs one after another (a tile is a protobuf
    message of repeated layers, so concatenated single-layer tiles are one valid tile), in LAYERS order."""
    size = 2 * _HALF / (1 << z)
    min_area = (size / 256) ** 2 * MIN_PIXELS
    parts: dict[tuple[int, int], list[bytes]] = {}
    for layer in LAYERS:
        rows = query(
            con,
            "basemap_tiles",
            {
                "layer": layer,
                "z": z,
                "extent": EXTENT,
                "buffer": BUFFER,
                "min_area": min_area,
                "simplify": size / 256 * SIMPLIFY_PIXELS,
            },
        ).fetchall()
        for x, y, mvt in rows:
            parts.setdefault((int(x), int(y)), []).append(bytes(mvt))
    return {key: b"".join(blobs) for key, blobs in parts.items()}


def _metadata(source: str, minzoom: int, maxzoom: int) -> dict[str, Any]:
    """The archive's JSON metadata (TileJSON-like: what readers and `koban-geo basemap info` show)."""
    return {
        "name": "KOBAN Geo basemap",
        "description": f"OpenStreetMap extract {source}, cut by koban-geo basemap build",
        "attribution": ATTRIBUTION,
        "type": "baselayer",
        "format": "pbf",
        "schema": "protomaps-basemap-v4 (subset: layers and properties in vector_layers)",
        "generator": f"koban-geo {_version('koban-geo')} (DuckDB {duckdb.__version__}, pmtiles {_version('pmtiles')})",
        "vector_layers": [
            {"id": layer, "fields": FIELDS, "minzoom": minzoom, "maxzoom": maxzoom} for layer in LAYERS
        ],
    }


def _version(package: str) -> str:
    try:
        return version(package)
    except Exception:  # noqa: BLE001 - a checkout that is not installed
        return "unknown"
