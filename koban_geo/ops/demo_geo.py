"""The demo's geography: real central-Helsinki neighbourhoods, streets, licensed premises and street lights
(data/demo/, © OpenStreetMap contributors, ODbL), in a local metric projection, and the spatial sampling the
synthetic reports use (where along the streets, near what). The reports themselves: koban_geo.ops.demo."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from koban_geo.store.resources import data_dir

LAYER_FILES = {
    "licensed_premises": "licensed_premises.geojson",
    "streetlights": "streetlights.geojson",
    "streets": "streets.geojson",  # drawn when the map runs without tiles (closed networks)
}


# A local equirectangular projection around the extract: metres, good to a few cm over 2 km.
_LON0, _LAT0 = 24.944, 60.171
_KX = 111_320.0 * float(np.cos(np.radians(_LAT0)))
_KY = 110_574.0


def demo_dir() -> Path:
    """The committed demo geography (data/demo/)."""
    return data_dir() / "demo"


def to_metres(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(lon) - _LON0) * _KX, (np.asarray(lat) - _LAT0) * _KY


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(x) / _KX + _LON0, np.asarray(y) / _KY + _LAT0


def metric(geom: Any) -> Any:
    return shapely.transform(geom, lambda c: np.column_stack(to_metres(c[:, 0], c[:, 1])))


def features(name: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads((demo_dir() / name).read_text(encoding="utf-8"))["features"]
    return features


@dataclass(frozen=True)
class Geo:
    codes: tuple[str, ...]
    names: tuple[str, ...]
    areas_m: tuple[Any, ...]
    street_fi: tuple[str, ...]
    street_sv: tuple[str, ...]
    pool: np.ndarray  # (n, 2) metres: points every 5 m along named streets
    pool_street: np.ndarray
    pool_area: np.ndarray  # area index, -1 within 5 m of a border
    snap: np.ndarray  # police.uk-style anonymous map points (every ~70 m along streets)
    snap_street: np.ndarray
    premises: np.ndarray
    premises_kind: tuple[str, ...]
    lamps: np.ndarray

    def area_index(self, name: str) -> int:
        return self.names.index(name)

    def area_of(self, xy: np.ndarray) -> np.ndarray:
        """Area index of each point (-1 outside all of them); a point on a border goes to the first area."""
        result = np.full(len(xy), -1)
        for i, poly in enumerate(self.areas_m):
            hit = (result < 0) & shapely.intersects_xy(poly, xy[:, 0], xy[:, 1])
            result[hit] = i
        return result


def along(coords: np.ndarray, step: float) -> np.ndarray:
    seg = np.hypot(*np.diff(coords, axis=0).T)
    dist = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.arange(step / 2, dist[-1], step)
    return np.column_stack([np.interp(at, dist, coords[:, 0]), np.interp(at, dist, coords[:, 1])])


@cache
def geography() -> Geo:
    areas = features("neighbourhoods.geojson")
    areas_m = tuple(metric(shape(f["geometry"])) for f in areas)
    inner = [a.buffer(-5) for a in areas_m]
    union = shapely.union_all(areas_m).buffer(-4)
    street_fi: list[str] = []
    street_sv: list[str] = []
    pool: list[np.ndarray] = []
    pool_street: list[np.ndarray] = []
    snap: list[np.ndarray] = []
    snap_street: list[np.ndarray] = []
    for i, feature in enumerate(features("streets.geojson")):
        props = feature["properties"]
        street_fi.append(props["name"])
        street_sv.append(props.get("name_sv") or props["name"])
        for line in getattr(geom := metric(shape(feature["geometry"])), "geoms", [geom]):
            coords = np.asarray(line.coords)
            for step, out, out_street in ((5.0, pool, pool_street), (70.0, snap, snap_street)):
                sampled = along(coords, step)
                out.append(sampled)
                out_street.append(np.full(len(sampled), i))
    pool_xy, snap_xy = np.concatenate(pool), np.concatenate(snap)
    keep = shapely.contains_xy(union, pool_xy[:, 0], pool_xy[:, 1])
    keep_snap = shapely.contains_xy(union, snap_xy[:, 0], snap_xy[:, 1])
    pool_xy, pool_st = pool_xy[keep], np.concatenate(pool_street)[keep]
    pool_area = np.full(len(pool_xy), -1)
    for i, poly in enumerate(inner):
        pool_area[shapely.contains_xy(poly, pool_xy[:, 0], pool_xy[:, 1])] = i
    premises = features(LAYER_FILES["licensed_premises"])
    lamps = features(LAYER_FILES["streetlights"])

    def metres(features: list[dict[str, Any]]) -> np.ndarray:
        lon, lat = np.array([f["geometry"]["coordinates"] for f in features]).T
        return np.column_stack(to_metres(lon, lat))

    return Geo(
        codes=tuple(f["properties"]["code"] for f in areas),
        names=tuple(f["properties"]["name"] for f in areas),
        areas_m=areas_m,
        street_fi=tuple(street_fi),
        street_sv=tuple(street_sv),
        pool=pool_xy,
        pool_street=pool_st,
        pool_area=pool_area,
        snap=snap_xy[keep_snap],
        snap_street=np.concatenate(snap_street)[keep_snap],
        premises=metres(premises),
        premises_kind=tuple(f["properties"]["kind"] for f in premises),
        lamps=metres(lamps),
    )


def pick(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def kernel(geo: Geo, centres: np.ndarray, sigma: float) -> np.ndarray:
    d2 = ((geo.pool[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(np.exp(-d2 / (2 * sigma**2)).sum(axis=1))


def around(geo: Geo, name: str, sigma: float) -> np.ndarray:
    """Weights for street points of one area, highest near the middle of its streets."""
    inside = (geo.pool_area == geo.area_index(name)).astype(float)
    centre = geo.pool[inside > 0].mean(axis=0, keepdims=True)
    return np.asarray(inside * (kernel(geo, centre, sigma) + 1e-6))


def jitter(rng: np.random.Generator, geo: Geo, xy: np.ndarray, sd: float = 3.0) -> np.ndarray:
    moved = xy + rng.normal(0.0, sd, size=xy.shape)
    outside = geo.area_of(moved) < 0
    moved[outside] = xy[outside]
    return moved
