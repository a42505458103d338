"""Backtest inputs: police.uk files or the store's concerns as point events, and the study grid they fall on.

The events and the grid of koban_geo.analysis.backtest (its docstring has the method): a grid of square cells
in the UTM zone of the training points' median, the study area the cells whose centre lies in their convex hull.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import shapely
from pyproj import Transformer

from koban_geo.ingest.batch import IngestError
from koban_geo.ingest.dialect import normalise_header
from koban_geo.ingest.opendata import POLICEUK_COLUMNS
from koban_geo.ingest.readers import register_csv_view, sniff, utf8_copy
from koban_geo.store.crs import utm_epsg
from koban_geo.store.sql import query

DEFAULT_CELL = 250.0
# Columns a police.uk street-level file must have for a backtest (the others are not read).
_NEEDED = ("month", "lon", "lat", "crime_type")


class BacktestError(ValueError):
    """The backtest cannot run on this input; the message names the file or the setting and why."""


class Events(NamedTuple):
    """Point events: lon/lat in EPSG:4326, month as datetime64[M], and a kind (crime type or theme)."""

    lon: np.ndarray
    lat: np.ndarray
    month: np.ndarray
    kind: np.ndarray

    @property
    def size(self) -> int:
        return int(self.lon.size)

    def select(self, keep: np.ndarray) -> Events:
        return Events(self.lon[keep], self.lat[keep], self.month[keep], self.kind[keep])


def _events_from(columns: dict[str, Any], keep: np.ndarray) -> Events:
    """Events from fetched columns lon, lat, month (months since 1970-01) and kind."""
    return Events(
        np.asarray(columns["lon"], dtype=float)[keep],
        np.asarray(columns["lat"], dtype=float)[keep],
        np.asarray(columns["month"], dtype=np.int64)[keep].astype("datetime64[M]"),
        np.asarray(columns["kind"], dtype=object)[keep],
    )


# --------------------------------------------------------------------------------------------------------
# Reading


def _read_policeuk_file(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[Events, int]:
    file = path.name
    try:
        dialect = sniff(path, file)
    except IngestError as exc:
        raise BacktestError(str(exc)) from exc
    norm = [normalise_header(h) for h in dialect.headers]
    picks: dict[str, int] = {}
    missing = []
    for key in _NEEDED:
        wanted = normalise_header(POLICEUK_COLUMNS[key])
        if wanted in norm:
            picks[key] = norm.index(wanted)
        else:
            missing.append(repr(POLICEUK_COLUMNS[key]))
    if missing:
        raise BacktestError(
            f"{file}:1: not a police.uk street-level CSV: no column {', '.join(missing)} "
            f"(headers: {', '.join(dialect.headers)})"
        )
    with utf8_copy(path, dialect.encoding) as readable:
        try:
            register_csv_view(con, file, dialect, readable, picks, "_backtest_csv")
            columns = query(con, "backtest_policeuk").fetchnumpy()
        except IngestError as exc:
            raise BacktestError(str(exc)) from exc
        except duckdb.Error as exc:
            raise BacktestError(f"{file}: cannot be read as CSV ({str(exc).splitlines()[0][:200]})") from exc
        finally:
            con.execute("DROP VIEW IF EXISTS _backtest_csv")
    ok = np.asarray(columns["ok"], dtype=bool)
    if ok.size == 0:
        raise BacktestError(f"{file}: no rows (only a header?)")
    return _events_from(columns, ok), int((~ok).sum())


def read_policeuk_counted(paths: Sequence[Path | str]) -> tuple[Events, int]:
    """The events of police.uk files and the number of rows skipped (no coordinates or no month)."""
    if not paths:
        raise BacktestError("no files given")
    parts, skipped = [], 0
    with duckdb.connect(":memory:") as con:
        for path in paths:
            events, dropped = _read_policeuk_file(con, Path(path))
            parts.append(events)
            skipped += dropped
    return Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in Events._fields)), skipped


def read_policeuk(paths: Sequence[Path | str]) -> Events:
    """Events of data.police.uk street-level CSV files: (lon, lat, month, crime_type) arrays.

    Rows without usable coordinates (blank, out of range, or 0,0) or without a YYYY-MM month are skipped.
    A file without the Month, Longitude, Latitude and Crime type columns raises BacktestError.
    """
    return read_policeuk_counted(paths)[0]


def concern_events(
    con: duckdb.DuckDBPyConnection,
    months: Sequence[str],
    *,
    include_sensitive: bool = False,
    dedupe_groups: bool = True,
) -> Events:
    """The concerns of the store in `months` ('YYYY-MM') as events, the theme as the kind (see backtest_store)."""
    params = {"months": list(months), "sensitive": include_sensitive, "groups": dedupe_groups}
    columns = query(con, "backtest_concerns", params).fetchnumpy()
    return _events_from(columns, np.ones(len(columns["lon"]), dtype=bool))


# --------------------------------------------------------------------------------------------------------
# The grid


@dataclass(frozen=True)
class Grid:
    """A raster of square cells in a metric CRS; `mask` marks the study cells (rows from the south)."""

    crs: str
    cell: float
    x0: float  # south-west corner of the raster
    y0: float
    mask: np.ndarray  # (rows, columns) bool

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.mask.shape
        return int(rows), int(cols)

    @property
    def cells(self) -> int:
        return int(self.mask.sum())

    @property
    def area_m2(self) -> float:
        return self.cells * self.cell**2

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        transformer = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        x, y = transformer.transform(lon, lat)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def raster_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat raster index (row-major) of each point, -1 outside the raster."""
        rows, cols = self.shape
        ix = np.floor((x - self.x0) / self.cell).astype(np.int64)
        iy = np.floor((y - self.y0) / self.cell).astype(np.int64)
        inside = (ix >= 0) & (ix < cols) & (iy >= 0) & (iy < rows)
        return np.where(inside, iy * cols + ix, -1)

    def in_study(self, index: np.ndarray) -> np.ndarray:
        return np.asarray((index >= 0) & self.mask.ravel()[np.maximum(index, 0)])

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = self.shape
        cx = self.x0 + (np.arange(cols) + 0.5) * self.cell
        cy = self.y0 + (np.arange(rows) + 0.5) * self.cell
        return np.meshgrid(cx, cy)

    def info(self) -> dict[str, Any]:
        rows, cols = self.shape
        return {
            "crs": self.crs,
            "cell_m": self.cell,
            "cells": self.cells,
            "area_km2": round(self.area_m2 / 1e6, 4),
            "raster": {"x0": self.x0, "y0": self.y0, "columns": cols, "rows": rows},
            "rule": "square cells aligned to multiples of cell_m in crs whose centre lies in the convex hull "
            "of the training points; cell ids run west to east, then south to north",
        }


def study_grid(lon: np.ndarray, lat: np.ndarray, cell: float = DEFAULT_CELL) -> Grid:
    """The study grid of training points: UTM zone of their median lon/lat, cells centred in their hull."""
    if not cell > 0:
        raise BacktestError(f"cell must be a positive number of metres, not {cell}")
    if len(lon) == 0:
        raise BacktestError("no training events with coordinates")
    try:
        crs = utm_epsg(float(np.median(lon)), float(np.median(lat)))
    except ValueError as exc:
        raise BacktestError(f"the training points: {exc}") from exc
    probe = Grid(crs, float(cell), 0.0, 0.0, np.zeros((1, 1), dtype=bool))
    x, y = probe.project(lon, lat)
    x0, y0 = math.floor(x.min() / cell) * cell, math.floor(y.min() / cell) * cell
    cols = int((x.max() - x0) // cell) + 1
    rows = int((y.max() - y0) // cell) + 1
    if rows * cols > 25_000_000:
        raise BacktestError(
            f"{rows * cols} raster cells: the training points are spread too far for {cell} m"
        )
    unique = np.unique(np.column_stack([x, y]), axis=0)
    hull = shapely.MultiPoint(unique).convex_hull
    grid = Grid(crs, float(cell), float(x0), float(y0), np.zeros((rows, cols), dtype=bool))
    cx, cy = grid.centres()
    mask = shapely.intersects_xy(hull, cx, cy) if hull.area > 0 else np.zeros_like(cx, dtype=bool)
    if not mask.any():
        raise BacktestError(
            f"no {cell:g} m cell has its centre inside the convex hull of the training points: "
            "use a smaller --cell (or more training points)"
        )
    return Grid(crs, float(cell), float(x0), float(y0), np.asarray(mask, dtype=bool))
