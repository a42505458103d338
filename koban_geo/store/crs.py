"""The store's metric CRS: grids and snapping happen in one projected CRS, fixed at first use."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyproj import Transformer

_EPSG = re.compile(r"^EPSG:\d{4,6}$")


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


@lru_cache(maxsize=32)
def transformer(src: str, dst: str) -> Transformer:
    """A cached pyproj transformer from `src` to `dst` in (x, y) = (lon, lat) order, whatever the CRS axes say."""
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)
