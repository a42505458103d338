"""Getis-Ord Gi* hot and cold spots on study-grid cells: weights, z-scores, permutation p-values, FDR, bins.

Gi* with binary weights that include the cell itself (Getis & Ord 1992; Ord & Getis 1995), computed as
esda.G_Local(y, w, transform="B", star=True) does: global mean and (population) standard deviation over all
n cells, row sums of the self-included weights. Everything is vectorised with scipy.sparse; the weights depend
only on the grid, so they are cached per (cached) grid. Queen weights on a square grid need no matrix: the 8
neighbours are 8 shifted lookups (gi_star_queen_square), so the CLI's Gi* never imports scipy (0.3 s).

Bins follow Esri's Hot Spot Analysis: +3/-3 at 99 %, +2/-2 at 95 %, +1/-1 at 90 % confidence, and with FDR
each level's threshold is the Benjamini-Hochberg one at that level (a cell keeps the highest level it passes).

    >>> import numpy as np, scipy.sparse as sp
    >>> W = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]]))
    >>> np.round(gi_star(np.array([0, 1, 5]), W), 3)
    array([-1.389,  0.   ,  0.926])
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np

from koban_geo.analysis.grid import Filter, Grid, bin_counts
from koban_geo.analysis.grid import clear_cache as clear_grids

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import scipy.sparse as sp

_LEVELS = ((0.10, 1), (0.05, 2), (0.01, 3))  # (two-sided alpha, bin), weakest first
_SIM_BUDGET = 4_000_000  # simulated values held at once by the permutation test


# ---------------------------------------------------------------------------------------------------------
# Weights (binary, self included), cached per grid object
# ---------------------------------------------------------------------------------------------------------


def _from_pairs(n: int, rows: np.ndarray, cols: np.ndarray) -> sp.csr_matrix:
    """Binary n x n CSR from (row, col) pairs, with the diagonal set."""
    import scipy.sparse as sp

    diag = np.arange(n, dtype=np.int64)
    r = np.concatenate([diag, rows.astype(np.int64)])
    c = np.concatenate([diag, cols.astype(np.int64)])
    W = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, n))
    W.sum_duplicates()
    W.data[:] = 1.0
    return W


def _square_offsets_within(grid: Grid, radius_cells: float) -> sp.csr_matrix:
    """Cells whose (ix, iy) offset is within radius_cells (Euclidean, in cells), self included."""
    assert grid.ix is not None and grid.iy is not None
    r = int(math.floor(radius_cells))
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    here = np.arange(grid.n, dtype=np.int64)
    for dx in range(-r, r + 1):  # one vectorised lookup per offset, not per cell
        for dy in range(-r, r + 1):
            if (dx == 0 and dy == 0) or dx * dx + dy * dy > radius_cells * radius_cells:
                continue
            pos = grid.positions_square(grid.ix + dx, grid.iy + dy)
            found = pos >= 0
            rows.append(here[found])
            cols.append(pos[found])
    empty = np.zeros(0, np.int64)
    return _from_pairs(
        grid.n, np.concatenate(rows) if rows else empty, np.concatenate(cols) if cols else empty
    )


@lru_cache(maxsize=32)
def weights_distance_band(grid: Grid, distance_m: float) -> sp.csr_matrix:
    """Binary weights: 1 between cells whose centres are at most distance_m apart (self included).

    Square grid: distance between cell centres, exact on the integer cell offsets. H3: distance between the
    hexagon centres in the store's metric CRS. Cached per grid; do not modify the returned matrix.
    """
    import scipy.sparse as sp

    if not distance_m or distance_m <= 0:
        raise ValueError(f"distance_m must be positive, not {distance_m!r}")
    if grid.n == 0:
        return sp.csr_matrix((0, 0))
    if grid.kind == "square":
        return _square_offsets_within(grid, distance_m / grid.size * (1 + 1e-9))
    from scipy.spatial import cKDTree

    from koban_geo.store.crs import transformer

    x, y = transformer("EPSG:4326", grid.crs).transform(
        grid.centroids_lonlat[:, 0], grid.centroids_lonlat[:, 1]
    )
    pairs = cKDTree(np.stack([x, y], axis=1)).query_pairs(distance_m * (1 + 1e-9), output_type="ndarray")
    return _from_pairs(
        grid.n, np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])
    )


@lru_cache(maxsize=32)
def weights_queen(grid: Grid) -> sp.csr_matrix:
    """Binary contiguity weights, self included: the 8 surrounding squares, or the 6 touching hexagons
    (h3.grid_disk(cell, 1)). Cached per grid; do not modify the returned matrix."""
    import scipy.sparse as sp

    if grid.n == 0:
        return sp.csr_matrix((0, 0))
    if grid.kind == "square":
        return _square_offsets_within(grid, math.sqrt(2) * (1 + 1e-9))
    import h3

    assert grid.h3 is not None
    disks = [h3.grid_disk(str(c), 1) for c in grid.h3]  # h3 has no vectorised form; built once per grid
    sizes = np.fromiter((len(d) for d in disks), dtype=np.int64, count=grid.n)
    rows = np.repeat(np.arange(grid.n, dtype=np.int64), sizes)
    cols = grid.positions_h3(np.array([c for d in disks for c in d], dtype="<U15"))
    found = cols >= 0
    return _from_pairs(grid.n, rows[found], cols[found])


# ---------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------


def _as_values(counts: np.ndarray, W: sp.spmatrix) -> np.ndarray:
    y = np.asarray(counts, dtype=float).ravel()
    if W.shape != (y.size, y.size):
        raise ValueError(f"weights are {W.shape[0]}x{W.shape[1]} but there are {y.size} values")
    return y


def gi_star(counts: np.ndarray, W: sp.spmatrix) -> np.ndarray:
    """Gi* z-scores: (sum_j w_ij x_j - mean * W_i) / (s * sqrt((n * S1_i - W_i^2) / (n - 1))).

    W_i and S1_i are the row sums of the weights and of their squares (equal for binary weights), mean and
    s the mean and population standard deviation over all n cells. For binary weights this is exactly
    esda.G_Local(y, w, transform="B", star=True).Zs. Where the statistic is undefined (all values equal,
    fewer than two cells, a cell whose band covers every cell) z is 0.
    """
    import scipy.sparse as sp

    y = _as_values(counts, W)
    n = y.size
    z = np.zeros(n)
    if n < 2:
        return z
    s = float(np.std(y))
    if not s > 0:
        return z
    W = sp.csr_matrix(W)
    wi = np.asarray(W.sum(axis=1)).ravel()
    s1 = np.asarray(W.multiply(W).sum(axis=1)).ravel()
    return _gi_z(y, W @ y, wi, s1, s)


def _gi_z(y: np.ndarray, lag: np.ndarray, wi: np.ndarray, s1: np.ndarray, s: float) -> np.ndarray:
    """z from each cell's weighted sum `lag`, weight sum wi and sum of squared weights s1 (see gi_star)."""
    n = y.size
    z = np.zeros(n)
    num = lag - y.mean() * wi
    den = s * np.sqrt(np.maximum(n * s1 - wi * wi, 0.0) / (n - 1))
    np.divide(num, den, out=z, where=den > 0)
    return z


def gi_star_queen_square(counts: np.ndarray, grid: Grid) -> np.ndarray:
    """gi_star(counts, weights_queen(grid)) on a square grid without a matrix (nor scipy): each cell's sum
    over itself and its 8 surrounding squares, one vectorised lookup per offset. Counts are integers, so the
    sums are exact in any order and z is the same to the last bit."""
    assert grid.kind == "square" and grid.ix is not None and grid.iy is not None
    y = np.asarray(counts, dtype=float).ravel()
    n = y.size
    if n != grid.n:
        raise ValueError(f"the grid has {grid.n} cells but there are {n} values")
    if n < 2 or not float(np.std(y)) > 0:
        return np.zeros(n)
    lag = y.copy()
    wi = np.ones(n)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                pos = grid.positions_square(grid.ix + dx, grid.iy + dy)
                found = pos >= 0
                lag[found] += y[pos[found]]
                wi[found] += 1.0
    return _gi_z(y, lag, wi, wi, float(np.std(y)))


_erfc = np.frompyfunc(math.erfc, 1, 1)  # the C library's erfc; scipy.special costs 0.1-0.5 s to import


def z_to_p(z: np.ndarray) -> np.ndarray:
    """Two-sided normal p-value of each z."""
    values = np.abs(np.asarray(z, dtype=float)) / math.sqrt(2.0)
    return np.asarray(_erfc(values), dtype=float) if values.size else np.zeros(values.shape)


def gi_star_permutation_p(
    counts: np.ndarray, W: sp.spmatrix, permutations: int = 999, seed: int | None = None
) -> np.ndarray:
    """Two-sided pseudo p-values of Gi* by conditional permutation.

    Each cell keeps its own value; its neighbours' values are drawn without replacement from the other n-1
    cells, `permutations` times. As in esda, one set of draws is shared by all cells (each cell skips its own
    index). p = 2 * (min(#sim >= obs, #sim <= obs) + 1) / (permutations + 1), capped at 1: ties count against
    significance on both sides, and it is twice esda's folded one-sided p_sim. Holding the cell's own value
    fixed makes this a test of its neighbourhood given the cell, so it differs from the normal p of gi_star
    (which treats the cell's value as random too); the smallest possible p is 2 / (permutations + 1).
    """
    import scipy.sparse as sp

    y = _as_values(counts, W)
    n = y.size
    if n < 2 or permutations < 1:
        return np.ones(n)
    W = sp.csr_matrix(W)
    obs = W @ y
    coo = W.tocoo()
    other = (coo.row != coo.col) & (coo.data != 0)
    off = sp.csr_matrix((coo.data[other], (coo.row[other], coo.col[other])), shape=W.shape)
    off.sort_indices()
    self_w = W.diagonal()
    k = np.diff(off.indptr)
    kmax = int(k.max()) if n else 0
    if kmax == 0:
        return np.ones(n)
    if kmax > n - 1:
        raise ValueError("a cell has more neighbours than there are other cells")
    # neighbour weights padded to kmax (a row's draws beyond its own k get weight 0)
    slot = np.arange(off.nnz) - np.repeat(off.indptr[:-1], k)
    nbw = np.zeros((n, kmax))
    nbw[np.repeat(np.arange(n), k), slot] = off.data
    rng = np.random.default_rng(seed)
    draws = np.empty((permutations, kmax), dtype=np.int64)
    for p in range(permutations):  # loop over permutations, not cells
        draws[p] = rng.choice(n - 1, size=kmax, replace=False)
    upper = np.zeros(n, dtype=np.int64)
    lower = np.zeros(n, dtype=np.int64)
    chunk = max(1, _SIM_BUDGET // (permutations * kmax))
    tol = 1e-9 * max(1.0, float(np.abs(y).max()))
    for start in range(0, n, chunk):
        cells = np.arange(start, min(n, start + chunk))
        idx = draws[None, :, :] + (draws[None, :, :] >= cells[:, None, None])  # skip the cell itself
        sim = np.einsum("cpk,ck->cp", y[idx], nbw[cells]) + (self_w[cells] * y[cells])[:, None]
        upper[cells] = (sim >= obs[cells, None] - tol).sum(axis=1)
        lower[cells] = (sim <= obs[cells, None] + tol).sum(axis=1)
    return np.minimum(1.0, 2.0 * (np.minimum(upper, lower) + 1) / (permutations + 1))


def fdr_bh(p: np.ndarray, alpha: float) -> np.ndarray:
    """Benjamini-Hochberg: True for the p-values rejected at false discovery rate alpha.

    With the m p-values sorted, k is the largest rank with p_(k) <= k * alpha / m; every p <= p_(k) is
    rejected. NaN counts as not significant (and as one of the m tests).
    """
    p = np.asarray(p, dtype=float)
    flat = np.where(np.isnan(p), np.inf, p).ravel()
    m = flat.size
    mask = np.zeros(m, dtype=bool)
    if m == 0:
        return mask.reshape(p.shape)
    ordered = np.sort(flat)
    passed = np.nonzero(ordered <= alpha * np.arange(1, m + 1) / m)[0]
    if passed.size:
        mask = flat <= ordered[passed[-1]]
    return mask.reshape(p.shape)


def gi_bins(z: np.ndarray, p: np.ndarray | None = None, fdr: bool = True) -> np.ndarray:
    """Esri-style confidence bins in -3..3 (sign of z; 3 = 99 %, 2 = 95 %, 1 = 90 %, 0 not significant).

    p defaults to the two-sided normal p of z. With fdr, each level's test is Benjamini-Hochberg at that
    level's alpha, and a cell keeps the highest level it passes.
    """
    z = np.asarray(z, dtype=float)
    p = z_to_p(z) if p is None else np.asarray(p, dtype=float)
    level = np.zeros(z.shape, dtype=np.int64)
    for alpha, value in _LEVELS:
        passed = fdr_bh(p, alpha) if fdr else np.nan_to_num(p, nan=np.inf) <= alpha
        level[passed] = value
    return np.asarray(np.sign(np.nan_to_num(z)).astype(np.int64) * level, dtype=np.int64)


def hotspot_cells(
    con: duckdb.DuckDBPyConnection,
    grid: Grid,
    flt: Filter | None = None,
    weights: Literal["queen", "distance"] = "queen",
    distance_m: float | None = None,
    fdr: bool = True,
    permutations: int = 0,
    seed: int | None = None,
) -> pd.DataFrame:
    """Gi* for every cell of the grid under one filter, one row per cell in grid order.

    Columns: cell (grid position), ix and iy (square) or h3, lon and lat (cell centre), count, gi_z, gi_p
    (two-sided; by permutation when permutations > 0, else normal) and gi_bin (-3..3).
    """
    import pandas as pd

    if weights == "queen":
        W = weights_queen(grid)
    elif weights == "distance":
        if distance_m is None:
            raise ValueError("distance weights need distance_m (metres between cell centres)")
        W = weights_distance_band(grid, float(distance_m))
    else:
        raise ValueError(f"weights must be 'queen' or 'distance', not {weights!r}")
    counts = bin_counts(con, grid, flt)
    z = gi_star(counts, W)
    p = gi_star_permutation_p(counts, W, permutations, seed) if permutations > 0 else z_to_p(z)
    frame: dict[str, np.ndarray] = {"cell": np.arange(grid.n)}
    if grid.kind == "square":
        assert grid.ix is not None and grid.iy is not None
        frame |= {"ix": np.asarray(grid.ix), "iy": np.asarray(grid.iy)}
    else:
        assert grid.h3 is not None
        frame["h3"] = np.asarray(grid.h3, dtype=object)
    frame |= {
        "lon": grid.centroids_lonlat[:, 0],
        "lat": grid.centroids_lonlat[:, 1],
        "count": counts,
        "gi_z": z,
        "gi_p": p,
        "gi_bin": gi_bins(z, p, fdr=fdr),
    }
    return pd.DataFrame(frame)


def clear_cache() -> None:
    """Forget the cached study grids and the spatial weights built for them (a cold start, as in bench/)."""
    clear_grids()
    weights_queen.cache_clear()
    weights_distance_band.cache_clear()
