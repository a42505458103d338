"""One shared assertion for exports: every RFC 7946 rule the project promises, checked on a document."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import shapely


def _positions(coords: Any):
    if coords and isinstance(coords[0], (int, float)):
        yield coords
    else:
        for c in coords:
            yield from _positions(c)


def _decimals(value: float) -> int:
    exponent = Decimal(repr(value)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def assert_rfc7946(doc: dict[str, Any], *, metadata_keys: tuple[str, ...] = ("generated", "licence")) -> None:
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc, "RFC 7946 has no crs member"
    assert all(key in doc["koban"] for key in metadata_keys), doc.get("koban")
    positions = []
    for feature in doc["features"]:
        assert feature["type"] == "Feature" and "properties" in feature
        geometry = feature["geometry"]
        if geometry is None:
            continue
        assert "crs" not in geometry
        coords = list(_positions(geometry["coordinates"]))
        positions += coords
        for lon, lat in coords:
            assert -180 <= lon <= 180 and -90 <= lat <= 90, (lon, lat)
            assert _decimals(lon) <= 6 and _decimals(lat) <= 6, (lon, lat)
        if geometry["type"] in ("Polygon", "MultiPolygon"):
            polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
            for rings in polygons:
                for i, ring in enumerate(rings):
                    assert len(ring) >= 4 and ring[0] == ring[-1], "rings are closed"
                    ccw = shapely.LinearRing(ring).is_ccw
                    assert ccw if i == 0 else not ccw, "right-hand rule: exterior CCW, holes CW"
    if positions:
        west, south, east, north = doc["bbox"]
        assert all(west <= lon <= east and south <= lat <= north for lon, lat in positions)
        assert all(_decimals(v) <= 6 for v in doc["bbox"]), "bbox: at most 6 decimals"
        assert -180 <= west <= east <= 180 and -90 <= south <= north <= 90, "bbox in WGS 84 ranges"
