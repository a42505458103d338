"""Synthetic stores with a planted answer for the Analysis-step tests (risk factors, near repeats): a metric
study box in central Helsinki, open-data layers and concerns written as the files users ingest, and
ingested through koban_geo.ingest.ingest_file (the real snapping, grouping and area assignment)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from pyproj import Transformer

from koban_geo.ingest import ingest_file
from tests.helpers import write_areas

CRS = "EPSG:32635"  # UTM 35N: the metric CRS a store of central Helsinki chooses
X0, Y0 = 385_000.0, 6_671_000.0  # south-west corner of the study box, on the 100 m snapping grid
WIDTH, HEIGHT = 4_000.0, 3_000.0  # metres: 40 x 30 = 1,200 squares of 100 m
T0 = datetime(2024, 1, 1)
_TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _TO_LONLAT.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)


def box_areas(path: Path) -> Path:
    """Two areas side by side (west and east halves of the box), as a GeoJSON file."""
    areas = {}
    for code, name, (a, b) in (
        ("BOX-W", "West", (X0, X0 + WIDTH / 2)),
        ("BOX-E", "East", (X0 + WIDTH / 2, X0 + WIDTH)),
    ):
        xs = np.array([a, b, b, a, a])
        ys = np.array([Y0, Y0, Y0 + HEIGHT, Y0 + HEIGHT, Y0])
        lon, lat = lonlat(xs, ys)
        areas[code] = (name, [(float(o), float(t)) for o, t in zip(lon, lat, strict=True)])
    return write_areas(path, areas)


def square_centres() -> np.ndarray:
    """Centres (x, y) of the 100 m squares of the box, the places a concern can be stored at."""
    xs = X0 + 50 + 100 * np.arange(int(WIDTH // 100))
    ys = Y0 + 50 + 100 * np.arange(int(HEIGHT // 100))
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.column_stack([gx.ravel(), gy.ravel()])


def write_points_layer(path: Path, xy: np.ndarray, kind: str = "feature") -> Path:
    lon, lat = lonlat(xy[:, 0], xy[:, 1])
    features = [
        {"type": "Feature", "id": i, "properties": {"kind": kind},
         "geometry": {"type": "Point", "coordinates": [round(float(o), 7), round(float(a), 7)]}}
        for i, (o, a) in enumerate(zip(lon, lat, strict=True))
    ]  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


@dataclass
class Concerns:
    """Concerns to write: metric places (the real, unsnapped ones), whole-hour times and themes."""

    x: np.ndarray
    y: np.ndarray
    hours: np.ndarray  # hours since T0
    themes: list[str]

    def __add__(self, other: Concerns) -> Concerns:
        return Concerns(np.r_[self.x, other.x], np.r_[self.y, other.y], np.r_[self.hours, other.hours],
                        self.themes + other.themes)  # fmt: skip

    def write_csv(self, path: Path, prefix: str = "c") -> Path:
        lon, lat = lonlat(self.x, self.y)
        lines = ["id,reported_at,lat,lon,theme,text"]
        for i, (o, a, h, t) in enumerate(zip(lon, lat, self.hours, self.themes, strict=True)):
            when = T0 + timedelta(hours=int(h))
            lines.append(f"{prefix}{i},{when:%Y-%m-%d %H:%M},{a:.7f},{o:.7f},{t},")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def in_squares(rng: np.random.Generator, centres: np.ndarray, theme: str, days: int = 365) -> Concerns:
    """One concern in each given square (a centre may repeat), at a random point well inside it."""
    n = len(centres)
    jitter = rng.uniform(-45, 45, size=(n, 2))
    return Concerns(centres[:, 0] + jitter[:, 0], centres[:, 1] + jitter[:, 1],
                    rng.integers(0, days * 24, n), [theme] * n)  # fmt: skip


def ingest(con, settings, tmp: Path, *, layers: dict[str, Path] | None = None,
           concerns: Concerns | None = None) -> None:  # fmt: skip
    """The box's areas, then the layers, then the concerns, each through ingest_file."""
    ingest_file(con, settings, box_areas(tmp / "areas.geojson"), kind="areas")
    for name, path in (layers or {}).items():
        ingest_file(con, settings, path, kind="layer", layer=name)
    if concerns is not None:
        result = ingest_file(con, settings, concerns.write_csv(tmp / "concerns.csv"), kind="concerns",
                             source="planted")  # fmt: skip
        assert result.rejected == 0, result.errors[:3]
