"""Analysis cells: concerns binned on a metric square grid or on H3 hexagons over the study area, zeros included.

The study area is the union of the area polygons, or the convex hull of the concern places when no areas are
loaded. A study grid holds every cell whose centre lies in it; it depends only on (kind, cell size, metric CRS,
study area), so it is built once and cached under a fingerprint of the areas (or of the concern places).
Counting is one SQL query per filter (for H3, places are counted in SQL and mapped to hexagons in Python).
The square grid shares the snapping grid's origin in the store's metric CRS, cell (ix, iy) =
(floor(x / cell), floor(y / cell)): use cell sizes that are multiples of the snapping grid (100 m by default)
so that every snapped place sits well inside one cell.

    >>> flt = Filter(themes=("noise", "asb"), since=datetime(2025, 1, 1))
    >>> flt.params()["themes"]
    ['noise', 'asb']
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import numpy as np

from koban_geo.store.crs import checked_crs, store_crs, stored_crs, transformer
from koban_geo.store.sql import query

if TYPE_CHECKING:
    import shapely

Kind = Literal["square", "h3"]
Unit = Literal["reports", "groups"]
Freq = Literal["month", "week"]

_FREQS = ("month", "week")
_CACHE_SIZE = 16
_CANDIDATES_PER_BLOCK = 2_000_000  # centre-in-area tests per vectorised block (bounded memory)
_HULL_TOLERANCE_M = 0.5  # stored places are rounded to 6 decimals (about 0.1 m)
_HULL_TOLERANCE_DEG = 5e-6


@dataclass(frozen=True)
class Filter:
    """Which concerns count: theme set, time window [since, until), area codes, and the unit counted.

    `unit="groups"` counts distinct near-duplicate groups (a concern without a group is its own);
    `unit="reports"` counts every report. None means no restriction, except themes=None: every theme but
    the sensitive ones, which are counted only when named (koban_selected in sql/macros.sql).
    """

    themes: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    areas: tuple[str, ...] | None = None
    unit: Unit = "groups"

    def __post_init__(self) -> None:
        if self.unit not in ("reports", "groups"):
            raise ValueError(f"unit must be 'reports' or 'groups', not {self.unit!r}")
        for name in ("themes", "areas"):  # lists become tuples so the filter stays hashable
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                if isinstance(value, str):
                    value = (value,)
                object.__setattr__(self, name, tuple(value))

    def as_meta(self) -> dict[str, Any]:
        """The filter as outputs state it in their metadata (JSON values; no theme restriction is [])."""
        return {
            "themes": list(self.themes or ()),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "areas": list(self.areas) if self.areas else None,
            "unit": self.unit,
        }

    def params(self) -> dict[str, Any]:
        """The bound parameters of the grid_* queries."""
        return {
            "themes": list(self.themes) if self.themes is not None else None,
            "since": self.since,
            "until": self.until,
            "areas": list(self.areas) if self.areas is not None else None,
            "groups": self.unit == "groups",
        }


@dataclass(frozen=True, eq=False)
class Grid:
    """The cells of one study grid, sorted by (ix, iy) or by H3 id; position i is cell i everywhere.

    Compared and hashed by identity (cached grids are shared), so weights can be cached per grid.
    Its arrays are read-only.
    """

    kind: Kind
    size: int  # metres (square) or H3 resolution
    crs: str  # the store's metric CRS
    centroids_lonlat: np.ndarray  # (n, 2) cell centres, lon/lat
    ix: np.ndarray | None = None  # square: column index, floor(x / size)
    iy: np.ndarray | None = None  # square: row index, floor(y / size)
    h3: np.ndarray | None = None  # h3: cell ids (hex strings; sorted as strings = sorted as integers)
    key: str = ""  # cache key: kind, size, CRS and the study-area fingerprint

    @property
    def n(self) -> int:
        return int(self.centroids_lonlat.shape[0])

    def __len__(self) -> int:
        return self.n

    def polygons(self, cells: np.ndarray | None = None) -> np.ndarray:
        """The cells as shapely polygons in EPSG:4326 (an object array, grid order), for export; with `cells`
        (grid positions) only those, in that order (a map's few significant cells, not the whole grid)."""
        import shapely

        if self.kind == "square":
            ring = self.rings(cells)
            return np.asarray(shapely.polygons(ring)) if len(ring) else np.array([], dtype=object)
        import h3

        assert self.h3 is not None
        ids = self.h3 if cells is None else self.h3[cells]
        rings = [[(lng, lat) for lat, lng in h3.cell_to_boundary(str(c))] for c in ids]
        return np.array([shapely.Polygon(r) for r in rings] if rings else [], dtype=object)

    def rings(self, cells: np.ndarray | None = None) -> np.ndarray:
        """Square cells' closed rings in EPSG:4326, an (n, 5, 2) lon/lat array counter-clockwise from the
        south-west corner (what `polygons` makes polygons of; a GeoJSON writer needs no shapely object).
        Each corner is transformed once, in one pyproj call."""
        assert self.kind == "square" and self.ix is not None and self.iy is not None
        ix, iy = (self.ix, self.iy) if cells is None else (self.ix[cells], self.iy[cells])
        x0 = ix.astype(float) * self.size
        y0 = iy.astype(float) * self.size
        s = float(self.size)
        xs = np.stack([x0, x0 + s, x0 + s, x0], axis=1)
        ys = np.stack([y0, y0, y0 + s, y0 + s], axis=1)
        if not xs.size:
            return np.zeros((0, 5, 2))
        lon, lat = transformer(self.crs, "EPSG:4326").transform(xs.ravel(), ys.ravel())
        corners = np.stack([np.asarray(lon), np.asarray(lat)], axis=1).reshape(len(ix), 4, 2)
        return np.concatenate([corners, corners[:, :1]], axis=1)

    def positions_square(self, ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
        """Grid position of each (ix, iy), -1 where the cell is not in the grid."""
        assert self.ix is not None and self.iy is not None
        return _lookup(_square_keys(self.ix, self.iy), _square_keys(np.asarray(ix), np.asarray(iy)))

    def positions_h3(self, cells: np.ndarray) -> np.ndarray:
        """Grid position of each H3 cell id, -1 where the cell is not in the grid."""
        assert self.h3 is not None
        return _lookup(self.h3, np.asarray(cells, dtype=self.h3.dtype if self.n else "<U15"))


def _square_keys(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """One int64 per cell whose order is the lexicographic order of (ix, iy)."""
    return (ix.astype(np.int64) << 32) + (iy.astype(np.int64) + (1 << 31))


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0 or keys.size == 0:
        return np.full(keys.shape, -1, dtype=np.int64)
    pos = np.searchsorted(sorted_keys, keys)
    pos = np.minimum(pos, sorted_keys.size - 1)
    return np.where(sorted_keys[pos] == keys, pos, -1).astype(np.int64)


# ---------------------------------------------------------------------------------------------------------
# The study grid, cached
# ---------------------------------------------------------------------------------------------------------

_GRIDS: OrderedDict[str, Grid] = OrderedDict()
_GRIDS_LOCK = threading.Lock()


def study_area_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A fingerprint of what the study area is made of: the areas (codes, batches, geometry bytes) when any
    are loaded, else the store's concerns (the convex hull of their places is the study area)."""
    row = query(con, "grid_areas_fingerprint").fetchone()
    if row and row[0]:
        return f"areas:{row[1]}"
    row = query(con, "grid_concerns_fingerprint").fetchone()
    if row and row[0] and row[2]:  # an in-memory store: no file path to tell it apart, hash the places
        row = query(con, "grid_concerns_places_fingerprint").fetchone()
    if row and row[0]:
        return f"hull:{row[1]}"
    return "empty"


def clear_cache() -> None:
    """Forget every cached study grid (`gistar.clear_cache` also forgets the weights built for them)."""
    with _GRIDS_LOCK:
        _GRIDS.clear()


def h3_resolution_for(cell_m: float) -> int:
    """The H3 resolution whose average hexagon area is closest (in ratio) to a cell_m x cell_m square."""
    import h3

    target = math.log(float(cell_m) ** 2)
    return min(range(0, 16), key=lambda r: abs(math.log(h3.average_hexagon_area(r, "m^2")) - target))


def study_grid(
    con: duckdb.DuckDBPyConnection, cell_m: int = 100, kind: Kind = "square", h3_res: int | None = None
) -> Grid:
    """Every cell whose centre lies in the study area; cached per (kind, size, CRS, study-area fingerprint).

    With no areas loaded the study area is the convex hull of the concern places, and every cell holding a
    concern is included too (a hull vertex may sit in a cell whose centre is just outside). A call costs one
    small fingerprint query when the grid is cached.
    """
    if kind not in ("square", "h3"):
        raise ValueError(f"kind must be 'square' or 'h3', not {kind!r}")
    if kind == "square":
        if not cell_m or cell_m <= 0:
            raise ValueError(f"cell size must be positive, not {cell_m!r}")
        size = int(cell_m)
    else:
        size = int(h3_res) if h3_res is not None else h3_resolution_for(cell_m)
        if not 0 <= size <= 15:
            raise ValueError(f"H3 resolution must be 0..15, not {size}")
    fingerprint = study_area_fingerprint(con)
    stored = stored_crs(con)
    key = f"{kind}:{size}:{stored or '-'}:{fingerprint}"
    with _GRIDS_LOCK:
        cached = _GRIDS.get(key)
        if cached is not None:
            _GRIDS.move_to_end(key)
            return cached
    grid = _stored_grid(con, kind, size, stored, fingerprint, key)
    if grid is None:
        grid = _build(con, kind, size, stored, fingerprint, key)
        _store_grid(con, grid, stored, fingerprint)
    with _GRIDS_LOCK:
        grid = _GRIDS.setdefault(key, grid)  # another thread may have built it meanwhile: keep one
        _GRIDS.move_to_end(key)
        while len(_GRIDS) > _CACHE_SIZE:
            _GRIDS.popitem(last=False)
    return grid


def _kept(kind: Kind, stored: str | None, fingerprint: str) -> bool:
    """Whether a study grid is kept in the store: squares of loaded areas in the store's own metric CRS."""
    return kind == "square" and stored is not None and fingerprint.startswith("areas:")


def _stored_grid(
    con: duckdb.DuckDBPyConnection, kind: Kind, size: int, stored: str | None, fingerprint: str, key: str
) -> Grid | None:
    """The grid kept in the store under `key` (table study_grids, migration 0011), or None."""
    if not _kept(kind, stored, fingerprint):
        return None
    got = query(con, "grid_stored_get", {"key": key}).fetchnumpy()
    if not len(got["ix"]):
        return None
    assert stored is not None
    ix, iy = np.asarray(got["ix"], dtype=np.int64), np.asarray(got["iy"], dtype=np.int64)
    return _make_grid("square", size, checked_crs(stored), key, ix=ix, iy=iy)


def _store_grid(con: duckdb.DuckDBPyConnection, grid: Grid, stored: str | None, fingerprint: str) -> None:
    """Keep a newly built grid in the store for the next process. Only a cache: a read-only store, or a
    write that conflicts with another thread's, leaves it for later."""
    if not _kept(grid.kind, stored, fingerprint) or grid.n == 0:
        return
    from koban_geo.store.sql import writing

    assert grid.ix is not None and grid.iy is not None
    params = {"key": grid.key, "fingerprint": fingerprint, "ix": grid.ix.tolist(), "iy": grid.iy.tolist()}
    try:
        with writing(con, macros=False) as cur:
            query(cur, "grid_stored_put", params)
    except duckdb.Error:
        pass


def _build(
    con: duckdb.DuckDBPyConnection, kind: Kind, size: int, stored: str | None, fingerprint: str, key: str
) -> Grid:
    import shapely

    from koban_geo.store.db import ensure_spatial

    ensure_spatial(con)  # the union of the areas, or the places' hull: geometry functions
    places = None
    if fingerprint.startswith("areas:"):
        crs = store_crs(con, lambda: _areas_centre(con))
        row = query(con, "grid_areas_union", {"crs": crs}).fetchone()
        assert row is not None
        area_lonlat = shapely.from_wkb(bytes(row[0]))
        area_metric = shapely.from_wkb(bytes(row[1]))
    elif fingerprint.startswith("hull:"):
        lon, lat = _places(con)
        places = np.stack([lon, lat], axis=1)
        crs = store_crs(con, (float(np.median(lon)), float(np.median(lat))))
        area_lonlat = shapely.convex_hull(shapely.multipoints(places)).buffer(_HULL_TOLERANCE_DEG)
        x, y = transformer("EPSG:4326", crs).transform(lon, lat)
        # places are cell centres rounded to 6 decimals: the tolerance keeps centres on the hull's edges inside
        area_metric = shapely.convex_hull(shapely.multipoints(np.stack([x, y], axis=1))).buffer(
            _HULL_TOLERANCE_M
        )
    else:
        crs = store_crs(con)
        return _make_grid(kind, size, crs, key, ix=np.zeros(0, np.int64), iy=np.zeros(0, np.int64))

    if kind == "square":
        ix, iy = _square_cells_in(area_metric, size)
        if places is not None:
            # every occupied cell, mapped by the same SQL that counts (so counting never drops a concern)
            flt = {**Filter(unit="reports").params(), "cell": float(size)}
            occupied = query(con, "grid_counts_square", flt).fetchnumpy()
            ix = np.concatenate([ix, np.asarray(occupied["ix"], dtype=np.int64)])
            iy = np.concatenate([iy, np.asarray(occupied["iy"], dtype=np.int64)])
        return make_square_grid(ix, iy, size, crs, key)

    import h3

    cells: set[str] = set()
    for part in getattr(area_lonlat, "geoms", [area_lonlat]):
        if isinstance(part, shapely.Polygon) and not part.is_empty:
            cells.update(h3.geo_to_cells(part, size))
    if places is not None:
        cells.update(h3.latlng_to_cell(float(la), float(lo), size) for lo, la in places)
    ids = np.array(sorted(cells), dtype="<U15")
    return _make_grid(kind, size, crs, key, h3_ids=ids)


def _areas_centre(con: duckdb.DuckDBPyConnection) -> tuple[float | None, float | None] | None:
    row = query(con, "grid_areas_centre").fetchone()
    return (row[0], row[1]) if row else None


def _square_cells_in(area: shapely.Geometry, cell: int) -> tuple[np.ndarray, np.ndarray]:
    """(ix, iy) of every cell whose centre is covered by `area` (metric CRS), in (ix, iy) order."""
    import shapely

    if area is None or area.is_empty:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    shapely.prepare(area)
    minx, miny, maxx, maxy = area.bounds
    ixs = np.arange(math.floor(minx / cell), math.floor(maxx / cell) + 1, dtype=np.int64)
    iys = np.arange(math.floor(miny / cell), math.floor(maxy / cell) + 1, dtype=np.int64)
    cy = (iys + 0.5) * cell
    step = max(1, _CANDIDATES_PER_BLOCK // max(1, iys.size))
    out_x: list[np.ndarray] = []
    out_y: list[np.ndarray] = []
    for start in range(0, ixs.size, step):  # blocks of columns, each tested at once
        block = ixs[start : start + step]
        bx = np.repeat(block, iys.size)
        by = np.tile(iys, block.size)
        inside = shapely.intersects_xy(area, (bx + 0.5) * cell, np.tile(cy, block.size))
        out_x.append(bx[inside])
        out_y.append(by[inside])
    return np.concatenate(out_x), np.concatenate(out_y)


def _make_grid(
    kind: Kind,
    size: int,
    crs: str,
    key: str,
    *,
    ix: np.ndarray | None = None,
    iy: np.ndarray | None = None,
    h3_ids: np.ndarray | None = None,
) -> Grid:
    if kind == "square":
        assert ix is not None and iy is not None
        if ix.size:
            lon, lat = transformer(crs, "EPSG:4326").transform((ix + 0.5) * size, (iy + 0.5) * size)
            centroids = np.stack([np.asarray(lon), np.asarray(lat)], axis=1)
        else:
            centroids = np.zeros((0, 2))
        arrays = {"ix": ix, "iy": iy}
    else:
        import h3

        assert h3_ids is not None
        latlng = np.array([h3.cell_to_latlng(str(c)) for c in h3_ids], dtype=float).reshape(-1, 2)
        centroids = latlng[:, ::-1].copy()
        arrays = {"h3": h3_ids}
    for value in (centroids, *arrays.values()):
        value.setflags(write=False)
    return Grid(kind=kind, size=size, crs=crs, centroids_lonlat=centroids, key=key, **arrays)


def make_square_grid(ix: np.ndarray, iy: np.ndarray, cell_m: int, crs: str, key: str = "") -> Grid:
    """A square grid of the given cells (deduplicated and sorted), e.g. for tests or a custom study area."""
    keys = np.unique(_square_keys(np.asarray(ix), np.asarray(iy)))
    return _make_grid("square", int(cell_m), checked_crs(crs), key, ix=(keys >> 32).astype(np.int64),
                      iy=((keys & 0xFFFFFFFF) - (1 << 31)).astype(np.int64))  # fmt: skip


def make_h3_grid(cells: list[str] | np.ndarray, crs: str, key: str = "") -> Grid:
    """An H3 grid of the given cells (one resolution; deduplicated and sorted); crs is the metric CRS used
    for distance bands."""
    import h3

    ids = np.unique(np.asarray(cells, dtype="<U15"))
    sizes = {h3.get_resolution(str(c)) for c in ids}
    if len(sizes) > 1:
        raise ValueError(f"H3 cells of several resolutions: {sorted(sizes)}")
    return _make_grid("h3", sizes.pop() if sizes else 0, checked_crs(crs), key, h3_ids=ids)


# ---------------------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------------------


def _places(con: duckdb.DuckDBPyConnection) -> tuple[np.ndarray, np.ndarray]:
    rows = query(con, "grid_places").fetchnumpy()
    return np.asarray(rows["lon"], dtype=float), np.asarray(rows["lat"], dtype=float)


def _h3_positions(grid: Grid, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Grid position of the hexagon holding each place (-1 outside the grid); h3 runs once per distinct place."""
    import h3

    if lon.size == 0:
        return np.zeros(0, np.int64)
    places, inverse = np.unique(np.stack([lon, lat], axis=1), axis=0, return_inverse=True)
    res = grid.size
    cells = np.array([h3.latlng_to_cell(la, lo, res) for lo, la in places.tolist()], dtype="<U15")
    return grid.positions_h3(cells)[inverse.ravel()]


def bin_counts(con: duckdb.DuckDBPyConnection, grid: Grid, flt: Filter | None = None) -> np.ndarray:
    """Concerns per cell of `grid` (int64, grid order, zeros included) for the filter; concerns whose cell is
    outside the study grid are not counted (`bin_counts_keyed` without the cell keys)."""
    return bin_counts_keyed(con, grid, flt)[0]


def bin_counts_keyed(
    con: duckdb.DuckDBPyConnection, grid: Grid, flt: Filter | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Concerns per cell of `grid` and each cell's key for the cell key method (koban_geo.privacy.cellkey: the
    sum of its records' keys mod 256), both int64 in grid order, zeros included.

    Squares are counted in SQL from the metric place stored with each concern (grid.crs is the store's metric
    CRS); H3 per snapped place in SQL, then by position. Each call reads the concerns once: the keys come from
    the same scan as the counts.
    """
    flt = flt or Filter()
    counts = np.zeros(grid.n, dtype=np.int64)
    keys = np.zeros(grid.n, dtype=np.int64)
    if grid.n == 0:
        return counts, keys
    if grid.kind == "square":
        rows = query(con, "grid_counts_square", {**flt.params(), "cell": float(grid.size)})
        got = rows.fetchnumpy()
        pos = grid.positions_square(np.asarray(got["ix"]), np.asarray(got["iy"]))
    else:
        got = query(con, "grid_counts_places", flt.params()).fetchnumpy()
        pos = _h3_positions(grid, np.asarray(got["lon"], float), np.asarray(got["lat"], float))
    n = np.asarray(got["n"], dtype=np.int64)
    ok = pos >= 0
    np.add.at(counts, pos[ok], n[ok])  # several places may share a hexagon
    np.add.at(keys, pos[ok], np.asarray(got["ckey"], dtype=np.int64)[ok])
    return counts, keys % 256


def period_start(value: date, freq: Freq) -> date:
    day = value.date() if isinstance(value, datetime) else value
    return day.replace(day=1) if freq == "month" else day - timedelta(days=day.weekday())


def _next(day: date, freq: Freq) -> date:
    if freq == "week":
        return day + timedelta(days=7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def bin_counts_by_slice(
    con: duckdb.DuckDBPyConnection, grid: Grid, flt: Filter | None = None, freq: Freq = "month"
) -> tuple[np.ndarray, list[date]]:
    """Concerns per cell and time slice: an (n_cells, n_slices) int64 array and the slice start dates
    (`bin_counts_by_slice_keyed` without the cell keys)."""
    counts, _, starts = bin_counts_by_slice_keyed(con, grid, flt, freq)
    return counts, starts


def bin_counts_by_slice_keyed(
    con: duckdb.DuckDBPyConnection, grid: Grid, flt: Filter | None = None, freq: Freq = "month"
) -> tuple[np.ndarray, np.ndarray, list[date]]:
    """Concerns per cell and time slice, the cell keys of those counts (koban_geo.privacy.cellkey), both
    (n_cells, n_slices) int64 arrays, and the slice start dates.

    Slices are calendar months or ISO weeks (Monday) and run without gaps from the filter's `since` (else
    the first filtered concern) to its `until` (exclusive; else the last concern). With unit "groups" a
    group counts in every slice it has reports in.
    """
    flt = flt or Filter()
    if freq not in _FREQS:
        raise ValueError(f"freq must be one of {', '.join(_FREQS)}, not {freq!r}")
    got: dict[str, np.ndarray] | None = None
    pos = np.zeros(0, np.int64)
    if grid.n and grid.kind == "square":
        params = {**flt.params(), "cell": float(grid.size), "freq": freq}
        got = query(con, "grid_slices_square", params).fetchnumpy()
        pos = grid.positions_square(np.asarray(got["ix"]), np.asarray(got["iy"]))
    elif grid.n:
        got = query(con, "grid_slices_places", {**flt.params(), "freq": freq}).fetchnumpy()
        pos = _h3_positions(grid, np.asarray(got["lon"], float), np.asarray(got["lat"], float))
    got_slices = np.asarray(got["slice"], dtype="datetime64[D]") if got else np.zeros(0, "datetime64[D]")
    first = period_start(flt.since, freq) if flt.since else None
    last = None
    if flt.until:
        until = (
            flt.until if isinstance(flt.until, datetime) else datetime.combine(flt.until, datetime.min.time())
        )
        last = period_start(until - timedelta(microseconds=1), freq)
    if got_slices.size:
        first = first or got_slices.min().item()
        last = last or got_slices.max().item()
    starts: list[date] = []
    if first is not None and last is not None:
        day = first
        while day <= last:  # one step per slice, not per cell
            starts.append(day)
            day = _next(day, freq)
    counts = np.zeros((grid.n, len(starts)), dtype=np.int64)
    keys = np.zeros((grid.n, len(starts)), dtype=np.int64)
    if got is not None and starts:
        col = np.searchsorted(np.array(starts, dtype="datetime64[D]"), got_slices)
        n = np.asarray(got["n"], dtype=np.int64)
        ok = (pos >= 0) & (col < len(starts))
        np.add.at(counts, (pos[ok], col[ok]), n[ok])
        np.add.at(keys, (pos[ok], col[ok]), np.asarray(got["ckey"], dtype=np.int64)[ok])
    return counts, keys % 256, starts
