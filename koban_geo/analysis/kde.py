"""Kernel density surfaces of concerns: weighted points binned onto a raster and convolved with a kernel.

Concerns are already snapped to grid centres, so the store hands over distinct locations with counts
(`kde_points.sql`) and every step here works on those weighted points: binning is O(points), the
convolution O(cells · log cells) with an FFT, never O(points × cells).

    info = kde_for_store(con, cell_m=50, kernel="quartic")       # bandwidth by Silverman's spatial rule
    folium.plugins.HeatMap(list(zip(info["lat"], info["lon"], info["density"])))

Densities are reports (or near-duplicate groups) per km²; the surface integrates to the total weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import numpy as np
from numpy.typing import ArrayLike, NDArray

from koban_geo.analysis.grid import Filter
from koban_geo.store.crs import stored_crs, transformer
from koban_geo.store.sql import query

Kernel = Literal["quartic", "gaussian"]
BandwidthRule = Literal["nn", "silverman"]
CountUnit = Literal["reports", "groups"]
KERNELS: tuple[str, ...] = ("quartic", "gaussian")
RULES: tuple[str, ...] = ("nn", "silverman")
GAUSSIAN_SUPPORT = 4.0  # the Gaussian kernel is cut at 4 bandwidths (it holds 1 - e^-8 = 99.97 % of its mass)
MAX_CELLS = 4_000_000  # one raster at most (32 MB of float64; 100 km x 100 km at 50 m)
_M2_PER_KM2 = 1e6


class RasterTooLarge(ValueError):
    """The raster would pass its cell limit: use a larger cell or a smaller extent."""


@dataclass(frozen=True)
class GridInfo:
    """Where a surface lies: `values[iy, ix]` is the cell whose centre is (x0 + (ix + ½)·cell_m, y0 + (iy + ½)·cell_m).

    Row 0 is the southern edge (y grows with the row index); coordinates are in the metric CRS of the points.
    """

    x0: float  # west edge of column 0
    y0: float  # south edge of row 0
    cell_m: float
    nx: int
    ny: int

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Centre x of each column and centre y of each row."""
        xs = self.x0 + (np.arange(self.nx) + 0.5) * self.cell_m
        ys = self.y0 + (np.arange(self.ny) + 0.5) * self.cell_m
        return xs, ys

    @property
    def cell_km2(self) -> float:
        return self.cell_m * self.cell_m / _M2_PER_KM2


def distinct_locations(xy: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The distinct rows of an (n, 2) array, sorted by x then y, and each row's index among them."""
    if len(xy) == 0:
        return xy.reshape(0, 2), np.zeros(0, dtype=np.int64)
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    ordered = xy[order]
    starts = np.empty(len(xy), dtype=bool)
    starts[0] = True
    np.any(ordered[1:] != ordered[:-1], axis=1, out=starts[1:])
    inverse = np.empty(len(xy), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse


def _merge(points_xy: ArrayLike, weights: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct locations with summed weights (repeated snapped points become one weighted point)."""
    xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    w = np.ones(len(xy)) if weights is None else np.asarray(weights, dtype=float).reshape(-1)
    if len(w) != len(xy):
        raise ValueError(f"{len(xy)} points but {len(w)} weights")
    if np.any(w < 0) or not np.all(np.isfinite(w)) or not np.all(np.isfinite(xy)):
        raise ValueError("points and weights must be finite and weights not negative")
    keep = w > 0
    unique, inverse = distinct_locations(xy[keep])
    return unique, np.bincount(inverse, weights=w[keep], minlength=len(unique))


def bandwidth(points_xy: ArrayLike, weights: ArrayLike | None = None, rule: BandwidthRule = "nn") -> float:
    """A kernel bandwidth in metres from the points by a documented rule.

    Repeated points are merged into one weighted location first (snapped concerns repeat).

    ``"nn"``: the mean nearest-neighbour distance between distinct locations, h = (1/m) Σᵢ minⱼ≠ᵢ ‖pᵢ − pⱼ‖
    over the m distinct locations (scipy ``cKDTree``), the starting bandwidth crime analysts use
    (Chainey, "Examining the influence of cell size and bandwidth size on kernel density estimation crime
    hotspot maps", 2013). Weights do not enter: a repeated location has distance 0 to itself, which says
    nothing about spacing. On a regular lattice it is the lattice spacing.

    ``"silverman"``: Silverman's rule of thumb adapted to two dimensions, as ArcGIS Pro's Kernel Density
    uses it when no search radius is given ("How Kernel Density works"; Silverman 1986, eq. 3.31):

        h = 0.9 · min(SD, √(1/ln 2) · Dm) · n^(−0.2)

    with n the total weight, (x̄, ȳ) the weighted mean centre, SD the weighted standard distance
    √(Σ wᵢ ((xᵢ − x̄)² + (yᵢ − ȳ)²) / n) and Dm the weighted median distance from the mean centre.
    The min() keeps a few far outliers from inflating the bandwidth.

    >>> round(bandwidth([(0, 0), (100, 0), (0, 100), (100, 100)]))
    100
    """
    xy, w = _merge(points_xy, weights)
    if rule == "nn":
        if len(xy) < 2:
            raise ValueError("the nearest-neighbour rule needs at least two distinct locations")
        from scipy.spatial import cKDTree

        distances, _ = cKDTree(xy).query(xy, k=2)
        return float(distances[:, 1].mean())
    if rule == "silverman":
        if len(xy) < 2:
            raise ValueError("Silverman's rule needs at least two distinct locations")
        n = float(w.sum())
        centre = (xy * w[:, None]).sum(axis=0) / n
        d = np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1])
        standard_distance = math.sqrt(float((w * d * d).sum()) / n)
        order = np.argsort(d)
        cumulative = np.cumsum(w[order])
        median_distance = float(d[order][np.searchsorted(cumulative, n / 2.0)])
        spread = min(standard_distance, math.sqrt(1.0 / math.log(2.0)) * median_distance)
        if spread <= 0:
            spread = standard_distance  # more than half the weight on the mean centre: fall back to SD
        return float(0.9 * spread * n**-0.2)
    raise ValueError(f"unknown bandwidth rule {rule!r}; rules: {', '.join(RULES)}")


def _support(kernel: str, bandwidth_m: float) -> float:
    if kernel == "quartic":
        return bandwidth_m
    if kernel == "gaussian":
        return GAUSSIAN_SUPPORT * bandwidth_m
    raise ValueError(f"unknown kernel {kernel!r}; kernels: {', '.join(KERNELS)}")


def kernel_weights(kernel: Kernel, bandwidth_m: float, cell_m: float) -> NDArray[np.float64]:
    """The kernel sampled at cell-centre offsets, (2r+1)² cells, normalised to sum to 1.

    quartic (biweight; ArcGIS, CrimeStat): K(d) = 3/(π h²) · (1 − d²/h²)² for d < h, exactly 0 beyond h.
    gaussian: K(d) = 1/(2π h²) · exp(−d²/(2h²)) (h is the standard deviation), cut at 4h.
    Normalising the sampled kernel makes each point add exactly its weight to the surface, even when the
    bandwidth is close to the cell size.
    """
    if not bandwidth_m > 0 or not cell_m > 0:
        raise ValueError("bandwidth and cell size must be positive")
    support = _support(kernel, bandwidth_m)
    r = int(math.floor(support / cell_m))
    offsets = np.arange(-r, r + 1) * cell_m
    d2 = offsets[None, :] ** 2 + offsets[:, None] ** 2
    if kernel == "quartic":
        u = 1.0 - d2 / (bandwidth_m * bandwidth_m)
        k = np.where(u > 0, u * u, 0.0)
    else:
        k = np.where(d2 <= support * support, np.exp(-d2 / (2.0 * bandwidth_m * bandwidth_m)), 0.0)
    return np.asarray(k / k.sum(), dtype=np.float64)


def _aligned(lo: float, hi: float, cell_m: float) -> tuple[int, int]:
    """First and last cell index (centres at index · cell_m) covering [lo, hi]."""
    return math.floor(lo / cell_m + 0.5), math.floor(hi / cell_m + 0.5)


def kde_surface(
    points_xy: ArrayLike,
    weights: ArrayLike | None,
    cell_m: float,
    bandwidth_m: float,
    kernel: Kernel = "quartic",
    extent: tuple[float, float, float, float] | None = None,
    *,
    max_cells: int = MAX_CELLS,
) -> tuple[NDArray[np.float64], GridInfo]:
    """Kernel density of weighted points (metric x, y) on a raster, in weight per km².

    Cell centres sit on multiples of `cell_m`, so points snapped to grid centres fall on cell centres.
    Each point's weight is split bilinearly between the four nearest cell centres (linear binning: the
    weighted mean position is kept), then the binned raster is convolved with the sampled kernel
    (`kernel_weights`) by FFT. `extent` = (xmin, ymin, xmax, ymax) clips the output (points outside it still
    count inside); without it the raster covers the points plus the kernel's reach, so
    ``values.sum() * info.cell_km2`` equals the total weight. FFT round-off below 1e-10 of the peak is set
    to 0, so the quartic kernel is exactly 0 beyond its bandwidth from the cell centres a point was binned
    to (from the point itself when it sits on a cell centre, as snapped concerns do).
    """
    if not cell_m > 0:
        raise ValueError("cell size must be positive")
    xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    w = np.ones(len(xy)) if weights is None else np.asarray(weights, dtype=float).reshape(-1)
    if len(w) != len(xy):
        raise ValueError(f"{len(xy)} points but {len(w)} weights")
    kern = kernel_weights(kernel, bandwidth_m, cell_m)
    r = kern.shape[0] // 2
    if extent is None:
        if len(xy) == 0:
            raise ValueError("no points and no extent: nothing to cover")
        reach = _support(kernel, bandwidth_m) + cell_m  # + a cell: linear binning may move weight one cell
        extent = (
            float(xy[:, 0].min()) - reach,
            float(xy[:, 1].min()) - reach,
            float(xy[:, 0].max()) + reach,
            float(xy[:, 1].max()) + reach,
        )
    xmin, ymin, xmax, ymax = extent
    if not (xmax >= xmin and ymax >= ymin):
        raise ValueError(f"extent {extent} is not (xmin, ymin, xmax, ymax)")
    ix0, ix1 = _aligned(xmin, xmax, cell_m)
    iy0, iy1 = _aligned(ymin, ymax, cell_m)
    nx, ny = ix1 - ix0 + 1, iy1 - iy0 + 1
    if nx * ny > max_cells or (nx + 2 * r) * (ny + 2 * r) > 4 * max_cells:
        raise RasterTooLarge(
            f"a {nx} x {ny} raster at {cell_m:g} m is more than {max_cells:,} cells: "
            "use a larger cell or a smaller extent"
        )
    info = GridInfo(x0=(ix0 - 0.5) * cell_m, y0=(iy0 - 0.5) * cell_m, cell_m=float(cell_m), nx=nx, ny=ny)
    # The working raster adds r cells on every side so points just outside the extent still count.
    px, py = nx + 2 * r, ny + 2 * r
    fx = xy[:, 0] / cell_m - (ix0 - r)
    fy = xy[:, 1] / cell_m - (iy0 - r)
    binned = _linear_bins(fx, fy, w, px, py)
    if not binned.any():
        return np.zeros((ny, nx)), info
    from scipy.signal import fftconvolve

    values = fftconvolve(binned, kern, mode="valid")  # (ny, nx): exactly the output raster
    values *= _M2_PER_KM2 / (cell_m * cell_m)
    peak = float(values.max())
    values[values < peak * 1e-10] = 0.0
    return values, info


def _linear_bins(
    fx: NDArray[np.float64], fy: NDArray[np.float64], w: NDArray[np.float64], nx: int, ny: int
) -> NDArray[np.float64]:
    """Weights split bilinearly onto the (ny, nx) raster whose cell centres sit at integer (fx, fy)."""
    i0 = np.floor(fx).astype(np.int64)
    j0 = np.floor(fy).astype(np.int64)
    tx = fx - i0
    ty = fy - j0
    grid = np.zeros(ny * nx)
    for di, dj, share in (
        (0, 0, (1 - tx) * (1 - ty)),
        (1, 0, tx * (1 - ty)),
        (0, 1, (1 - tx) * ty),
        (1, 1, tx * ty),
    ):
        i, j = i0 + di, j0 + dj
        inside = (i >= 0) & (i < nx) & (j >= 0) & (j < ny) & (share > 0)
        grid += np.bincount(j[inside] * nx + i[inside], weights=(w * share)[inside], minlength=ny * nx)
    return grid.reshape(ny, nx)


# --- the store -------------------------------------------------------------------------------------------


def to_lonlat(crs: str, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Metric (x, y) in `crs` to (lon, lat)."""
    lon, lat = transformer(crs, "EPSG:4326").transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def kde_for_store(
    con: duckdb.DuckDBPyConnection,
    cell_m: float = 50,
    kernel: Kernel = "quartic",
    bandwidth_m: float | None = None,
    *,
    rule: BandwidthRule = "silverman",
    min_share: float = 0.01,
    flt: Filter | None = None,
) -> dict[str, Any]:
    """The density surface of the selected concerns as cell centres (lon, lat) and densities, for a heat layer.

    bandwidth_m None: chosen by `rule` (see `bandwidth`), but never below the snapping grid of the selected
    concerns nor the cell size (a narrower kernel only redraws the grid squares; one location alone gets
    the grid size).
    Cells under `min_share` of the peak density are left out. If the raster would pass MAX_CELLS the cell
    size is doubled until it fits (the result says which cell size was used).

    Returns {"lon", "lat", "density"} (numpy arrays; density in `unit`), "cell_m", "bandwidth_m",
    "bandwidth_rule" ("user" when set), "kernel", "crs", "total" (weight of the selection),
    "n_locations", "max_density", "unit" and "extent" ((xmin, ymin, xmax, ymax) in the metric CRS).
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; kernels: {', '.join(KERNELS)}")
    params = (flt or Filter()).params()
    result: dict[str, Any] = {
        "lon": np.zeros(0),
        "lat": np.zeros(0),
        "density": np.zeros(0),
        "cell_m": float(cell_m),
        "bandwidth_m": None if bandwidth_m is None else float(bandwidth_m),
        "bandwidth_rule": rule if bandwidth_m is None else "user",
        "kernel": kernel,
        "crs": stored_crs(con),
        "total": 0.0,
        "n_locations": 0,
        "max_density": 0.0,
        "unit": f"{'groups' if params['groups'] else 'reports'} per km²",
        "extent": None,
    }
    if result["crs"] is None:  # nothing ingested yet
        return result
    rows = query(con, "kde_points", {**params, "crs": result["crs"]}).fetchnumpy()
    if len(rows["x"]) == 0:
        return result
    xy = np.column_stack([rows["x"], rows["y"]]).astype(float)
    w = np.asarray(rows["weight"], dtype=float)
    grid_m = float(np.max(rows["snap_m"])) if len(rows["snap_m"]) else 0.0
    if bandwidth_m is None:
        h = bandwidth(xy, w, rule=rule) if len(xy) > 1 else 0.0
        floor = max(grid_m, float(cell_m))
        if h < floor:
            result["bandwidth_rule"] = f"{rule}, raised to the {floor:g} m floor"
        bandwidth_m = max(h, floor)
    cell = float(cell_m)
    while True:
        try:
            values, info = kde_surface(xy, w, cell, bandwidth_m, kernel)
            break
        except RasterTooLarge:
            cell *= 2
    keep = values >= min_share * values.max() if values.max() > 0 else np.zeros(values.shape, bool)
    xs, ys = info.centres()
    iy, ix = np.nonzero(keep)
    lon, lat = to_lonlat(result["crs"], xs[ix], ys[iy])
    result.update(
        lon=lon,
        lat=lat,
        density=values[iy, ix],
        cell_m=cell,
        bandwidth_m=float(bandwidth_m),
        total=float(w.sum()),
        n_locations=len(xy),
        max_density=float(values.max()),
        extent=(info.x0, info.y0, info.x0 + info.nx * cell, info.y0 + info.ny * cell),
    )
    return result
