"""Getis-Ord Gi*: weights, z-scores equal to esda's, permutation p-values, Benjamini-Hochberg and Esri bins."""

from __future__ import annotations

from datetime import datetime

import h3
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from koban_geo.analysis.gistar import (
    fdr_bh,
    gi_bins,
    gi_star,
    gi_star_permutation_p,
    gi_star_queen_square,
    hotspot_cells,
    weights_distance_band,
    weights_queen,
    z_to_p,
)
from koban_geo.analysis.grid import Filter, make_h3_grid, make_square_grid, study_grid
from tests.test_grid import add_concerns, cell_at, helsinki  # noqa: F401  (helsinki is a fixture)

CRS = "EPSG:32635"
SQUARE = make_square_grid(*np.divmod(np.arange(400), 20), 100, CRS)  # 20 x 20 cells, ix-major
H3_PATCH = make_h3_grid(h3.grid_disk(h3.latlng_to_cell(60.17, 24.94, 9), 8), CRS)  # 217 hexagons


def esda_z(y: np.ndarray, W: sp.csr_matrix) -> np.ndarray:
    """esda's Gi* z-scores on the same weights (self-weights included, binary transform)."""
    from esda.getisord import G_Local
    from libpysal.weights import W as PysalW

    w = PysalW.from_sparse(W)
    return G_Local(y, w, transform="B", star=True, permutations=0).Zs


# --- weights ------------------------------------------------------------------------------------------


def test_queen_and_band_weights_on_squares():
    W = weights_queen(SQUARE)
    assert (W != W.T).nnz == 0 and np.all(W.diagonal() == 1) and set(np.unique(W.data)) == {1.0}
    row = np.asarray(W.sum(axis=1)).ravel().reshape(20, 20)
    assert row[0, 0] == 4 and row[0, 5] == 6 and row[5, 5] == 9  # corner, edge, interior (self included)
    band = weights_distance_band(SQUARE, 200)  # centres within 200 m: 12 others (r = 1, sqrt 2, 2)
    assert np.asarray(band.sum(axis=1)).ravel().reshape(20, 20)[10, 10] == 13
    assert weights_distance_band(SQUARE, 141.4214).sum(axis=1).max() == 9  # sqrt(2) cells: the queen ring
    with pytest.raises(ValueError, match="positive"):
        weights_distance_band(SQUARE, 0)


def test_queen_and_band_weights_on_hexagons():
    W = weights_queen(H3_PATCH)
    rows = np.asarray(W.sum(axis=1)).ravel()
    assert rows.max() == 7 and rows.min() in (3, 4) and (W != W.T).nnz == 0 and np.all(W.diagonal() == 1)
    edge = h3.average_hexagon_edge_length(9, "m")
    band = weights_distance_band(H3_PATCH, 2.5 * edge)  # neighbours' centres are about sqrt(3) edges apart
    assert np.array_equal(band.toarray(), W.toarray())


# --- Gi* z equals esda --------------------------------------------------------------------------------


# libpysal's W constructor warns about islands/components only for disconnected weights; ours are connected,
# and esda 2.9 warns nothing here: no filter needed.
@pytest.mark.parametrize(
    ("grid", "weights"),
    [
        (SQUARE, lambda g: weights_queen(g)),
        (SQUARE, lambda g: weights_distance_band(g, 250)),
        (H3_PATCH, lambda g: weights_queen(g)),
        (H3_PATCH, lambda g: weights_distance_band(g, 700)),
    ],
    ids=["square-queen", "square-band-250m", "h3-queen", "h3-band-700m"],
)
def test_gi_star_z_equals_esda(grid, weights):
    W = weights(grid)
    rng = np.random.default_rng(7)
    for y in (rng.poisson(2.0, grid.n), rng.negative_binomial(1, 0.2, grid.n)):
        np.testing.assert_allclose(gi_star(y, W), esda_z(y.astype(float), W), rtol=0, atol=1e-6)


def test_queen_square_without_a_matrix_is_bit_identical():
    """The CLI's scipy-free Gi* (8 shifted lookups) gives exactly gi_star with the queen matrix, on a grid
    with holes and ragged edges (cells missing inside and at the border)."""
    rng = np.random.default_rng(3)
    keep = rng.random(400) > 0.25
    ix, iy = np.divmod(np.arange(400), 20)
    holey = make_square_grid(ix[keep] - 7, iy[keep] + 3, 100, CRS)  # negative indices too
    for grid in (SQUARE, holey):
        for y in (rng.poisson(2.0, grid.n), rng.negative_binomial(1, 0.2, grid.n), np.full(grid.n, 4)):
            assert np.array_equal(gi_star_queen_square(y, grid), gi_star(y, weights_queen(grid)))
    with pytest.raises(ValueError, match="3 values"):
        gi_star_queen_square(np.ones(3), SQUARE)


def test_gi_star_edge_cases():
    W = weights_queen(SQUARE)
    assert not gi_star(np.full(400, 3), W).any()  # no variation: no hotspot, not NaN
    assert gi_star(np.zeros(0), sp.csr_matrix((0, 0))).shape == (0,)
    with pytest.raises(ValueError, match="400 values"):
        gi_star(np.ones(400), weights_queen(H3_PATCH))


@given(
    st.lists(st.integers(0, 30), min_size=36, max_size=36),
    st.integers(1, 5),
    st.integers(0, 10),
    st.randoms(),
)
def test_gi_star_is_invariant_to_scale_shift_and_relabelling(values, scale, shift, rnd):
    y = np.array(values, dtype=float)
    assume(y.std() > 0)
    grid = make_square_grid(*np.divmod(np.arange(36), 6), 100, CRS)
    W = weights_queen(grid)
    z = gi_star(y, W)
    np.testing.assert_allclose(gi_star(scale * y + shift, W), z, atol=1e-9)
    order = np.array(rnd.sample(range(36), 36))
    np.testing.assert_allclose(gi_star(y[order], W[order][:, order]), z[order], atol=1e-9)


# --- permutation p-values ----------------------------------------------------------------------------


# esda 2.9's G_Local cannot pass `alternative` to its conditional randomisation, which then warns that the
# default will change; our comparison doubles the folded p_sim explicitly, so the change does not matter.
@pytest.mark.filterwarnings(
    "ignore:The alternative hypothesis for conditional randomization:DeprecationWarning"
)
def test_permutation_p_agrees_with_esda_and_finds_a_planted_cluster():
    from esda.getisord import G_Local
    from libpysal.weights import W as PysalW

    W = weights_queen(SQUARE)
    rng = np.random.default_rng(3)
    y = rng.poisson(1.0, 400).reshape(20, 20)
    y[9:12, 9:12] += 8  # a hot 3x3 block
    y = y.ravel()
    p = gi_star_permutation_p(y, W, permutations=999, seed=1)
    assert np.array_equal(p, gi_star_permutation_p(y, W, permutations=999, seed=1))  # seeded: reproducible
    assert p[10 * 20 + 10] == pytest.approx(2 / 1000)  # no permutation reaches the centre's sum
    assert (p > 0).all() and (p <= 1).all()
    # against esda on continuous values (no ties: esda counts a tie as "larger", we count it on both sides)
    x = rng.gamma(2.0, 1.0, 400)
    p = gi_star_permutation_p(x, W, permutations=999, seed=4)
    g = G_Local(x, PysalW.from_sparse(W), transform="B", star=True, permutations=999, seed=1, n_jobs=1)
    two_sided = np.minimum(1, 2 * g.p_sim)
    assert np.corrcoef(p, two_sided)[0, 1] > 0.95
    assert np.median(np.abs(p - two_sided)) < 0.03  # Monte Carlo noise apart, the same test


# --- Benjamini-Hochberg and bins ---------------------------------------------------------------------


def test_fdr_bh_by_hand():
    p = np.array([0.010, 0.040, 0.030, 0.005, 0.200, 0.041, 0.001, 0.900])
    # m = 8, alpha = 0.05; sorted p with rank k and threshold k * 0.05 / 8:
    #   k=1 0.001 <= 0.00625 yes | k=2 0.005 <= 0.0125 yes | k=3 0.010 <= 0.01875 yes
    #   k=4 0.030 <= 0.025 no    | k=5 0.040 <= 0.03125 no | k=6 0.041 <= 0.0375 no
    #   k=7 0.200 <= 0.04375 no  | k=8 0.900 <= 0.05 no
    # the largest passing rank is k=3 (p = 0.010): reject 0.001, 0.005, 0.010
    expected = np.array([True, False, False, True, False, False, True, False])
    np.testing.assert_array_equal(fdr_bh(p, 0.05), expected)
    # a later rank passing rescues earlier failures (step-up): with 0.030 -> 0.024, k=4 passes (0.024 <= 0.025)
    p2 = p.copy()
    p2[2] = 0.024
    np.testing.assert_array_equal(fdr_bh(p2, 0.05), [True, False, True, True, False, False, True, False])
    assert not fdr_bh(np.array([0.2, 0.5, np.nan]), 0.05).any()
    assert fdr_bh(np.array([]), 0.05).shape == (0,)


def test_bins_follow_esri_levels():
    z = np.array([0.0, 1.60, 1.70, 2.00, 2.60, -1.70, -2.00, -2.60, np.nan])
    # two-sided p: 1.645 -> 0.10, 1.960 -> 0.05, 2.576 -> 0.01
    assert gi_bins(z, fdr=False).tolist() == [0, 0, 1, 2, 3, -1, -2, -3, 0]
    # with FDR each level uses its own BH threshold over all cells: many unremarkable cells raise the bar
    z_many = np.concatenate([[2.6, 3.5, 4.5], np.zeros(200)])
    # p: 4.5 -> 6.8e-6, 3.5 -> 4.65e-4, 2.6 -> 9.3e-3 (ranks 1, 2, 3 of m = 203; the zeros have p = 1)
    #   alpha 0.01: thresholds 4.9e-5, 9.9e-5, 1.5e-4 -> only rank 1 passes: 4.5 is +3
    #   alpha 0.05: thresholds 2.5e-4, 4.9e-4, 7.4e-4 -> ranks 1, 2 pass: 3.5 is +2
    #   alpha 0.10: thresholds 4.9e-4, 9.9e-4, 1.5e-3 -> ranks 1, 2 pass: 2.6 stays 0
    assert gi_bins(z_many, fdr=True)[:3].tolist() == [0, 2, 3]
    assert gi_bins(z_many, fdr=False)[:3].tolist() == [3, 3, 3]


def test_bins_from_permutation_p_use_the_sign_of_z():
    z = np.array([3.0, -3.0, 0.5])
    assert gi_bins(z, p=np.array([0.002, 0.03, 0.6]), fdr=False).tolist() == [3, -2, 0]


def test_cold_hole_in_a_high_background_gives_negative_bins():
    rng = np.random.default_rng(11)
    y = (10 + rng.poisson(1.0, 400)).reshape(20, 20)
    y[8:13, 8:13] = 0  # a 5x5 hole
    z = gi_star(y.ravel(), weights_queen(SQUARE))
    bins = gi_bins(z).reshape(20, 20)
    assert bins[10, 10] == -3 and (bins[9:12, 9:12] < 0).all()
    assert (bins[:4, :4] == 0).all() and (bins[-4:, -4:] == 0).all()


# --- end to end on a store ---------------------------------------------------------------------------


def test_planted_hot_cluster_is_plus_three_at_the_centre_and_zero_far_away(helsinki):  # noqa: F811
    grid = study_grid(helsinki, 100)
    cx, cy = cell_at(24.935, 60.168)
    rng = np.random.default_rng(5)
    when = datetime(2025, 6, 1, 12)
    background = [(int(ix), int(iy), "noise", when, None) for ix, iy in zip(grid.ix, grid.iy, strict=True)
                  for _ in range(int(rng.poisson(0.8)))]  # fmt: skip
    cluster = [
        (cx + dx, cy + dy, "noise", when, None) for dx in (-1, 0, 1) for dy in (-1, 0, 1) for _ in range(12)
    ]
    add_concerns(helsinki, background + cluster + [(cx, cy, "litter", when, None)] * 40)
    cells = hotspot_cells(helsinki, grid, Filter(themes=("noise",), unit="reports"))
    assert list(cells.columns) == ["cell", "ix", "iy", "lon", "lat", "count", "gi_z", "gi_p", "gi_bin"]
    assert len(cells) == grid.n and cells["count"].sum() == len(background) + len(cluster)
    at = cells.set_index(["ix", "iy"])
    assert at.loc[(cx, cy), "gi_bin"] == 3
    assert (at.loc[[(cx + dx, cy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)], "gi_bin"] > 0).all()
    far = np.maximum(np.abs(cells["ix"] - cx), np.abs(cells["iy"] - cy)) >= 5
    assert far.sum() > 200 and (cells.loc[far, "gi_bin"] == 0).all()
    np.testing.assert_allclose(cells["gi_p"], z_to_p(cells["gi_z"]))
    # the litter pile is its own filter
    litter = hotspot_cells(
        helsinki, grid, Filter(themes=("litter",), unit="reports"), weights="distance", distance_m=150
    )
    assert litter.set_index(["ix", "iy"]).loc[(cx, cy), "gi_bin"] == 3
    with pytest.raises(ValueError, match="distance_m"):
        hotspot_cells(helsinki, grid, weights="distance")
    perm = hotspot_cells(helsinki, grid, Filter(themes=("noise",)), permutations=199, seed=2, fdr=False)
    assert perm.set_index(["ix", "iy"]).loc[(cx, cy), "gi_p"] == pytest.approx(2 / 200)
    # (from mutation testing) FDR is on unless turned off: without it, chance cells of the background are bins too
    unadjusted = gi_bins(cells["gi_z"].to_numpy(), cells["gi_p"].to_numpy(), fdr=False)
    np.testing.assert_array_equal(
        cells["gi_bin"], gi_bins(cells["gi_z"].to_numpy(), cells["gi_p"].to_numpy())
    )
    assert (unadjusted != 0).sum() > (cells["gi_bin"] != 0).sum()
    # the seed makes permutation p-values repeatable
    again = hotspot_cells(helsinki, grid, Filter(themes=("noise",)), permutations=199, seed=2, fdr=False)
    np.testing.assert_array_equal(again["gi_p"], perm["gi_p"])
    # with permutations the bins follow the permutation p-values, not the normal ones
    z_p = perm["gi_z"].to_numpy()
    np.testing.assert_array_equal(perm["gi_bin"], gi_bins(z_p, perm["gi_p"].to_numpy(), fdr=False))
    assert (perm["gi_bin"].to_numpy() != gi_bins(z_p, fdr=False)).any()
    with pytest.raises(ValueError, match="'queen' or 'distance', not 'rook'"):
        hotspot_cells(helsinki, grid, weights="rook")  # type: ignore[arg-type]


def test_hotspot_cells_on_hexagons(helsinki):  # noqa: F811
    grid = study_grid(helsinki, kind="h3", h3_res=10)
    ix, iy = cell_at(24.95, 60.167)
    add_concerns(helsinki, [(ix, iy, "noise", datetime(2025, 6, 1), None)] * 30)
    cells = hotspot_cells(helsinki, grid)
    assert {"cell", "h3", "lon", "lat", "count", "gi_z", "gi_p", "gi_bin"} <= set(cells.columns)
    top = cells.loc[cells["count"].idxmax()]
    assert top["count"] == 30 and top["gi_bin"] == 3
    assert top["h3"] == h3.latlng_to_cell(top["lat"], top["lon"], 10)
