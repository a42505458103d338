"""RFC 7946 GeoJSON out: WGS 84 lon/lat, no `crs` member, right-hand-rule polygons, 6 decimals, a `bbox`,
and the export's metadata as a top-level foreign member (`koban`)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.polygon import orient

PRECISION = 6  # ~0.1 m: finer would only pretend to a precision the snapped data does not have
LICENCE = (
    "Concerns: KOBAN pilot data, aggregated and anonymised. Basemap data © OpenStreetMap contributors (ODbL)."
)


def _oriented(geom: shapely.Geometry) -> shapely.Geometry:
    """Exterior rings counter-clockwise, holes clockwise (RFC 7946 section 3.1.6)."""
    if isinstance(geom, shapely.Polygon):
        return orient(geom, sign=1.0)
    if isinstance(geom, shapely.MultiPolygon):
        return shapely.MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])
    if isinstance(geom, shapely.GeometryCollection):
        return shapely.GeometryCollection([_oriented(g) for g in geom.geoms])
    return geom


def _rounded(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), PRECISION) for c in coords[:2]]
    return [_rounded(c) for c in coords]


def geometry_json(geom: shapely.Geometry) -> dict[str, Any]:
    shaped = mapping(_oriented(shapely.set_precision(geom, 10**-PRECISION) if not geom.is_empty else geom))
    if shaped["type"] == "GeometryCollection":
        return {"type": "GeometryCollection", "geometries": [geometry_json(g) for g in _oriented(geom).geoms]}
    return {"type": shaped["type"], "coordinates": _rounded(shaped["coordinates"])}


def _clean(value: Any) -> Any:
    """JSON-safe property values: NaN and missing become null, numpy scalars plain numbers, times ISO 8601."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if str(value) in ("<NA>", "NaT"):
        return None
    return value


def feature_collection(
    rows: Iterable[tuple[shapely.Geometry | None, Mapping[str, Any]]], metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """A FeatureCollection from (geometry in EPSG:4326, properties) pairs, with bbox and metadata."""
    features = []
    bounds: list[float] | None = None
    for geom, props in rows:
        feature: dict[str, Any] = {
            "type": "Feature",
            "geometry": geometry_json(geom) if geom is not None else None,
            "properties": {k: _clean(v) for k, v in props.items()},
        }
        features.append(feature)
        if geom is not None and not geom.is_empty:
            b = geom.bounds
            bounds = list(b) if bounds is None else [min(bounds[0], b[0]), min(bounds[1], b[1]),
                                                      max(bounds[2], b[2]), max(bounds[3], b[3])]  # fmt: skip
    doc: dict[str, Any] = {"type": "FeatureCollection"}
    if bounds is not None:
        doc["bbox"] = [round(bounds[0], PRECISION), round(bounds[1], PRECISION),
                       round(bounds[2], PRECISION), round(bounds[3], PRECISION)]  # fmt: skip
    doc["koban"] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "licence": LICENCE,
        **metadata,
    }
    doc["features"] = features
    return doc


def write(path: Path, doc: Mapping[str, Any]) -> None:
    """Write atomically: a half-written export never replaces a good one."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)
