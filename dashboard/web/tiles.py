"""The offline basemap over HTTP, served by the app itself (koban_geo.basemap builds the archive).

- `GET /basemap/tiles/{z}/{x}/{y}.mvt`: one vector tile out of the PMTiles archive, as stored (gzip, sent
  with `Content-Encoding: gzip`, so the browser unpacks it), 204 for a tile the archive does not hold (open
  sea, outside the extract), ETag + long caching (the page adds `?v=<etag>`, a rebuilt archive gets a new
  one). The maps use this one: protomaps-leaflet then needs no PMTiles reader in the page, each tile is one
  small cacheable response, and nothing depends on how a proxy treats Range requests.
- `GET /basemap.pmtiles`: the whole archive with HTTP Range requests (206 + Content-Range, 416 past the end,
  HEAD, ETag, If-Range: Starlette's FileResponse), for PMTiles readers elsewhere on the network
  (QGIS, a MapLibre page, `pmtiles` clients).

Both answer 404 when no basemap is configured or built, and never read anything but the one archive file.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from koban_geo.basemap import Archive, BasemapError, active_basemap, open_archive
from koban_geo.store.settings import Settings, get_settings

TILE_PATH = "/basemap/tiles/{z:int}/{x:int}/{y:int}.mvt"
ARCHIVE_PATH = "/basemap.pmtiles"
MVT_TYPE = "application/vnd.mapbox-vector-tile"
PMTILES_TYPE = "application/vnd.pmtiles"
CACHE = "public, max-age=604800"  # a week: the page asks with ?v=<archive etag>, so a rebuild is seen at once
NO_BASEMAP = "no basemap on this server (koban-geo basemap build EXTRACT.osm.pbf)"

Locate = Callable[[], Path | None]


@lru_cache(maxsize=4)
def _settings(db: str | None, _basemap: str | None, _tiles_url: str | None) -> Settings:
    return get_settings(db=db)  # the other KOBAN_* variables and .env are read there too


def configured_archive() -> Path | None:
    """The archive the maps draw (KOBAN_BASEMAP, else beside KOBAN_DB), None when KOBAN_TILES_URL is set
    or there is no file; settings are read once per process and environment."""
    env = os.environ
    return active_basemap(
        _settings(env.get("KOBAN_DB"), env.get("KOBAN_BASEMAP"), env.get("KOBAN_TILES_URL"))
    )


def tile_routes(locate: Locate = configured_archive) -> list[BaseRoute]:
    """The basemap's routes; `locate` says where the archive is (tests pass their own)."""

    async def tile(request: Request) -> Response:
        path = locate()
        archive = _archive(path)
        if archive is None:
            return PlainTextResponse(NO_BASEMAP, status_code=404)
        z, x, y = (int(request.path_params[k]) for k in ("z", "x", "y"))
        if not (0 <= z <= 30 and 0 <= x < (1 << z) and 0 <= y < (1 << z)):
            return PlainTextResponse("no such tile", status_code=404)
        etag = f'"{archive.etag}"'
        headers = {"ETag": etag, "Cache-Control": CACHE, "Vary": "Accept-Encoding"}
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        data = archive.tile(z, x, y)
        if data is None:  # nothing there: an empty answer the map draws as nothing, not an error
            return Response(status_code=204, headers=headers)
        if archive.gzip_tiles:
            if "gzip" in request.headers.get("accept-encoding", "").lower():
                headers["Content-Encoding"] = "gzip"
            else:
                data = gzip.decompress(data)
        return Response(data, media_type=MVT_TYPE, headers=headers)

    async def whole(request: Request) -> Response:
        path = locate()
        if path is None or _archive(path) is None:
            return PlainTextResponse(NO_BASEMAP, status_code=404)
        return FileResponse(path, media_type=PMTILES_TYPE, headers={"Cache-Control": "no-cache"})

    return [
        Route(TILE_PATH, tile, methods=["GET", "HEAD"]),
        Route(ARCHIVE_PATH, whole, methods=["GET", "HEAD"]),
    ]


def _archive(path: Path | None) -> Archive | None:
    if path is None:
        return None
    try:
        return open_archive(path)
    except BasemapError:
        return None


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
