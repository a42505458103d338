"""The store's metric CRS: grids and snapping happen in one projected CRS, fixed at first use.

This module owns it: `stored_crs` reads it, `store_crs` reads it or chooses one from a centre point (the
UTM zone there, else Web Mercator), `set_store_crs` fixes it. No other module reads the meta key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from koban_geo.store.sql import meta_get, meta_set

if TYPE_CHECKING:
    import duckdb
    from pyproj import Transformer

_EPSG = re.compile(r"^EPSG:\d{4,6}$")
META_KEY = "metric_crs"
FALLBACK = "EPSG:3857"  # Web Mercator: only when nothing can be placed (no stored CRS, no centre)

Centre = tuple[float | None, float | None] | None


def utm_epsg(lon: float, lat: float) -> str:
    """The WGS 84 / UTM zone CRS that holds (lon, lat), e.g. EPSG:32635 for Helsinki."""
    if not (math.isfinite(lon) and math.isfinite(lat)) or not -80 <= lat <= 84:
        raise ValueError(f"no UTM zone for lon={lon}, lat={lat}")
    zone = min(int((lon + 180) // 6) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def checked_crs(crs: str) -> str:
    """Only 'EPSG:NNNN' strings reach SQL."""
    value = crs.strip().upper()
    if not _EPSG.match(value):
        raise ValueError(f"CRS must look like EPSG:NNNN, not {crs!r}")
    return value


def metric_crs_for(lon: float, lat: float) -> str:
    """The metric CRS chosen for data centred on (lon, lat): its UTM zone, else Web Mercator near the poles."""
    try:
        return utm_epsg(lon, lat)
    except ValueError:
        return "EPSG:3857"


def stored_crs(con: duckdb.DuckDBPyConnection) -> str | None:
    """The metric CRS the store fixed at its first ingest (checked), or None before any data."""
    value = meta_get(con, META_KEY)
    return checked_crs(value) if value else None


def store_crs(con: duckdb.DuckDBPyConnection, centre: Centre | Callable[[], Centre] = None) -> str:
    """The metric CRS to work in: the stored one; else the one for `centre` (lon, lat); else Web Mercator.

    `centre` may be a function, called only when the store has no CRS yet (it usually runs a query).
    """
    stored = stored_crs(con)
    if stored:
        return stored
    point = centre() if callable(centre) else centre
    if point is None or point[0] is None or point[1] is None:
        return FALLBACK
    return metric_crs_for(float(point[0]), float(point[1]))


def set_store_crs(con: duckdb.DuckDBPyConnection, crs: str) -> None:
    """Fix the store's metric CRS (at its first ingest; every snapped point and grid is in it)."""
    meta_set(con, META_KEY, checked_crs(crs))


@lru_cache(maxsize=32)
def transformer(src: str, dst: str) -> Transformer:
    """A cached pyproj transformer from `src` to `dst` in (x, y) = (lon, lat) order, whatever the CRS axes say."""
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)
