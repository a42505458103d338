"""Limits a hostile or broken file meets before the expensive work: line length, JSON nesting, vertex counts.

Each check reads the bytes or the parsed document once, cheaply, and raises IngestError naming the file, the
line or feature, and the limit with the setting that raises it (koban_geo.store.settings, KOBAN_ prefix).

    limits = FileLimits.from_settings(settings)
    check_json_depth(raw, "areas.geojson", limits)   # before json.loads: its recursion is no parser limit
    count = check_vertices(geometry, "areas.geojson", 3, limits)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from koban_geo.ingest.batch import IngestError
from koban_geo.store.settings import Settings

__all__ = ["DEFAULT_LIMITS", "FileLimits", "check_json_depth", "check_vertices", "vertex_count"]


@dataclass(frozen=True)
class FileLimits:
    """The limits of koban_geo.store.settings.Settings that ingestion checks (defaults: the settings' own)."""

    max_line_bytes: int = 2_000_000
    max_json_depth: int = 64
    max_vertices_per_geometry: int = 100_000
    max_vertices_per_file: int = 2_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> FileLimits:
        return cls(
            max_line_bytes=settings.max_line_bytes,
            max_json_depth=settings.max_json_depth,
            max_vertices_per_geometry=settings.max_vertices_per_geometry,
            max_vertices_per_file=settings.max_vertices_per_file,
        )


DEFAULT_LIMITS = FileLimits()


# A JSON string (escapes included); replaced by "" so brackets inside strings do not count. JSON strings hold
# no raw newline, so line numbers survive the replacement.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET = re.compile(rb"[\[\]{}]")


def check_json_depth(raw: bytes, file: str, limits: FileLimits) -> None:
    """Refuse JSON nested deeper than limits.max_json_depth, by a byte scan before any parsing.

    GeoJSON needs about 8 levels (a MultiPolygon in a FeatureCollection); Python's json recurses once per
    level and fails with RecursionError near 1,000. Strings are blanked first (a bracket in a text does not
    nest), then the depth is a running sum over the brackets alone (about 0.1 s per 10 MB).
    """
    stripped = _JSON_STRING.sub(b'""', raw) if b'"' in raw else raw
    brackets = np.frombuffer(stripped.translate(None, _NOT_BRACKETS), np.uint8)
    if not len(brackets):
        return
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1).astype(np.int32)
    too_deep = np.flatnonzero(np.cumsum(steps) > limits.max_json_depth)
    if not len(too_deep):
        return
    nth = int(too_deep[0])
    at = next(m.start() for i, m in enumerate(_BRACKET.finditer(stripped)) if i == nth)
    line = stripped.count(b"\n", 0, at) + 1
    raise IngestError(
        f"{file}:{line}: JSON nested more than {limits.max_json_depth} levels deep (GeoJSON needs about 8); "
        "refused before parsing (setting KOBAN_MAX_JSON_DEPTH)"
    )


def vertex_count(coordinates: Any) -> int:
    """Positions in a GeoJSON coordinates array of any depth (a position is a list starting with a number)."""
    count = 0
    stack = [coordinates]
    while stack:
        item = stack.pop()
        if not isinstance(item, list) or not item:
            continue
        if isinstance(item[0], int | float) and not isinstance(item[0], bool):
            count += 1
        else:
            stack.extend(item)
    return count


def _geometry_vertices(geometry: Any) -> int:
    if not isinstance(geometry, dict):
        return 0
    if geometry.get("type") == "GeometryCollection":
        parts = geometry.get("geometries")
        return sum(_geometry_vertices(g) for g in parts) if isinstance(parts, list) else 0
    return vertex_count(geometry.get("coordinates"))


def check_vertices(geometry: Any, file: str, feature: int, limits: FileLimits, so_far: int = 0) -> int:
    """Vertices of one feature's geometry, refused over the per-geometry limit or past the per-file one.

    Returns the file's running total (so_far + this geometry's vertices).
    """
    n = _geometry_vertices(geometry)
    if n > limits.max_vertices_per_geometry:
        raise IngestError(
            f"{file}:feature {feature}: geometry: {n:,} vertices, over the limit of "
            f"{limits.max_vertices_per_geometry:,} per geometry (setting KOBAN_MAX_VERTICES_PER_GEOMETRY); "
            "simplify it first (e.g. ogr2ogr -simplify 1)"
        )
    total = so_far + n
    if total > limits.max_vertices_per_file:
        raise IngestError(
            f"{file}:feature {feature}: the file passes {limits.max_vertices_per_file:,} vertices in all "
            "(setting KOBAN_MAX_VERTICES_PER_FILE); split or simplify it"
        )
    return total
