"""Reading a basemap archive (PMTiles v3) for the server: where it is, its header, one tile at a time.

The dashboard serves tiles by z/x/y from the archive (dashboard/web/tiles.py); a tile lookup reads the file
through a memory map and keeps the directories it has decoded, so a request costs a dictionary lookup and a
slice. An archive replaced on disk (a new `koban-geo basemap build`) is picked up on the next request.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mmap
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from koban_geo.basemap.build import BasemapError
from koban_geo.store.settings import Settings

SUFFIX = ".basemap.pmtiles"
_MAX_DEPTH = 4  # root plus at most three levels of leaf directories (the PMTiles v3 limit)


def default_path(db: Path) -> Path:
    """Where a store's basemap lives by default: beside it, `koban.duckdb` -> `koban.basemap.pmtiles`."""
    return db.with_name(db.stem + SUFFIX)


def archive_path(settings: Settings) -> Path:
    """The configured basemap archive (KOBAN_BASEMAP), or the default one beside the store."""
    return settings.basemap if settings.basemap is not None else default_path(settings.db)


def active_basemap(settings: Settings) -> Path | None:
    """The archive the maps draw, or None: a tile server configured with KOBAN_TILES_URL wins, and a
    missing archive means none (the maps then draw the store's streets layer)."""
    if settings.tiles_url:
        return None
    path = archive_path(settings)
    return path if path.is_file() else None


@dataclass(frozen=True)
class Entry:
    tile_id: int
    offset: int
    length: int
    run_length: int  # 0: a leaf directory at offset/length


class Archive:
    """One PMTiles archive opened read-only (thread-safe: the directories cache is behind a lock)."""

    def __init__(self, path: Path) -> None:
        from pmtiles.tile import Compression, TileType, deserialize_header

        self.path = path
        with path.open("rb") as fh:
            stat = path.stat()
            if stat.st_size < 127:
                raise BasemapError(f"{path} is not a PMTiles archive (too short)")
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            self.header: dict[str, Any] = dict(deserialize_header(self._map[:127]))
        except Exception as exc:  # the package raises its own classes for a wrong magic number or version
            raise BasemapError(f"{path} is not a PMTiles v3 archive ({type(exc).__name__})") from exc
        if self.header["tile_type"] != TileType.MVT:
            raise BasemapError(f"{path} holds {self.header['tile_type'].name} tiles, not vector tiles")
        if self.header["internal_compression"] != Compression.GZIP:
            raise BasemapError(f"{path}: only gzip-compressed PMTiles directories are read (rebuild it)")
        self.gzip_tiles = self.header["tile_compression"] == Compression.GZIP
        # An entity tag for the whole archive: size, modification time and the header (which holds the
        # directory and data lengths), so that a rebuilt archive gets a new one.
        digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:".encode() + self._map[:127])
        self.etag = digest.hexdigest()[:20]
        self._dirs: dict[tuple[int, int], list[Entry]] = {}
        self._lock = threading.Lock()

    @property
    def minzoom(self) -> int:
        return int(self.header["min_zoom"])

    @property
    def maxzoom(self) -> int:
        return int(self.header["max_zoom"])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        h = self.header
        return (h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7, h["max_lat_e7"] / 1e7)

    def metadata(self) -> dict[str, Any]:
        raw = self._bytes(self.header["metadata_offset"], self.header["metadata_length"])
        data = json.loads(gzip.decompress(raw))
        return data if isinstance(data, dict) else {}

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The stored bytes of tile z/x/y (gzip-compressed MVT when `gzip_tiles`), None when absent."""
        from pmtiles.tile import zxy_to_tileid

        if not (0 <= z <= 30 and 0 <= x < (1 << z) and 0 <= y < (1 << z)):
            return None
        if z < self.minzoom or z > self.maxzoom:
            return None
        tile_id = zxy_to_tileid(z, x, y)
        offset, length = self.header["root_offset"], self.header["root_length"]
        for _depth in range(_MAX_DEPTH):
            entry = _find(self._directory(offset, length), tile_id)
            if entry is None:
                return None
            if entry.run_length:
                return self._bytes(self.header["tile_data_offset"] + entry.offset, entry.length)
            offset, length = self.header["leaf_directory_offset"] + entry.offset, entry.length
        return None

    def _directory(self, offset: int, length: int) -> list[Entry]:
        key = (offset, length)
        found = self._dirs.get(key)
        if found is None:
            from pmtiles.tile import deserialize_directory

            entries = deserialize_directory(self._bytes(offset, length))  # it gunzips them itself
            found = [Entry(e.tile_id, e.offset, e.length, e.run_length) for e in entries]
            with self._lock:
                self._dirs[key] = found
        return found

    def _bytes(self, offset: int, length: int) -> bytes:
        return self._map[offset : offset + length]


def _find(entries: list[Entry], tile_id: int) -> Entry | None:
    """The entry holding tile_id (binary search; a run covers run_length consecutive ids)."""
    lo, hi = 0, len(entries) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if entries[mid].tile_id < tile_id:
            lo = mid + 1
        elif entries[mid].tile_id > tile_id:
            hi = mid - 1
        else:
            return entries[mid]
    if hi >= 0:  # the entry before: a run that reaches tile_id, or a leaf directory that may hold it
        entry = entries[hi]
        if entry.run_length == 0 or tile_id - entry.tile_id < entry.run_length:
            return entry
    return None


def open_archive(path: Path) -> Archive | None:
    """The archive at `path` (opened once per version of the file), None when there is no file there."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _open(str(path.resolve()), stat.st_mtime_ns, stat.st_size, stat.st_ino)


@lru_cache(maxsize=4)
def _open(path: str, _mtime: int, _size: int, _inode: int) -> Archive:
    return Archive(Path(path))
