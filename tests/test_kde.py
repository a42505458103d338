"""Kernel density: mass conservation, kernel shapes, bandwidth rules on known configurations, the store path."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest

from koban_geo.analysis.grid import Filter
from koban_geo.analysis.kde import bandwidth, kde_for_store, kde_surface, kernel_weights
from koban_geo.ingest import ingest_file
from tests.helpers import write_text


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
@pytest.mark.parametrize("cell_m", [25.0, 50.0])
def test_surface_integrates_to_the_total_weight(kernel, cell_m):
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 2000, size=(300, 2)) + [385000, 6672000]  # off-grid points: linear binning
    w = rng.integers(1, 6, size=300).astype(float)
    values, info = kde_surface(xy, w, cell_m=cell_m, bandwidth_m=120, kernel=kernel)
    assert values.shape == (info.ny, info.nx)
    assert values.min() >= 0
    assert values.sum() * info.cell_km2 == pytest.approx(w.sum(), rel=1e-6)  # exact: the kernel is normalised


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_single_point_gives_a_symmetric_peak_at_its_location(kernel):
    point = (385050.0, 6672050.0)
    values, info = kde_surface([point], [3.0], cell_m=10, bandwidth_m=100, kernel=kernel)
    xs, ys = info.centres()
    iy, ix = np.unravel_index(np.argmax(values), values.shape)
    assert (xs[ix], ys[iy]) == pytest.approx(point)
    np.testing.assert_allclose(values, values[::-1, :], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(values, values[:, ::-1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(values, values.T, rtol=1e-9, atol=1e-12)
    # the peak is the analytic kernel at distance 0, in reports per km² (within the sampling error)
    h = 100.0
    peak = 3 * 3 / (math.pi * h * h) if kernel == "quartic" else 3 / (2 * math.pi * h * h)
    assert values.max() == pytest.approx(peak * 1e6, rel=0.01)


def test_quartic_kernel_is_exactly_zero_beyond_the_bandwidth_and_gaussian_is_not():
    point = np.array([[385000.0, 6672000.0]])
    h = 120.0
    extent = (384600.0, 6671600.0, 385400.0, 6672400.0)
    for kernel in ("quartic", "gaussian"):
        values, info = kde_surface(point, None, cell_m=10, bandwidth_m=h, kernel=kernel, extent=extent)
        xs, ys = info.centres()
        d = np.hypot(xs[None, :] - point[0, 0], ys[:, None] - point[0, 1])
        if kernel == "quartic":
            assert np.all(values[d >= h] == 0.0)
            assert np.all(values[d < 0.99 * h] > 0.0)
        else:
            assert np.all(values[(d > 1.5 * h) & (d < 3 * h)] > 0.0)


def test_linear_binning_keeps_an_off_grid_point_centred():
    point = np.array([[385013.0, 6672031.0]])
    values, info = kde_surface(point, None, cell_m=10, bandwidth_m=80, kernel="quartic")
    xs, ys = info.centres()
    total = values.sum()
    assert (values.sum(axis=0) * xs).sum() / total == pytest.approx(point[0, 0], abs=1e-6)
    assert (values.sum(axis=1) * ys).sum() / total == pytest.approx(point[0, 1], abs=1e-6)


def test_points_outside_the_extent_still_count_inside_it():
    inside_only, _ = kde_surface([[0.0, 0.0]], None, 10, 100, extent=(0, 0, 200, 200))
    with_neighbour, _ = kde_surface([[0.0, 0.0], [-50.0, 0.0]], None, 10, 100, extent=(0, 0, 200, 200))
    assert with_neighbour[0, 0] > inside_only[0, 0]
    assert with_neighbour[0, 20] == inside_only[0, 20] == 0.0  # 200 m from both: beyond the bandwidth


def test_kernel_weights_sum_to_one_and_reject_bad_input():
    for kernel in ("quartic", "gaussian"):
        assert kernel_weights(kernel, 75, 10).sum() == pytest.approx(1.0)
        narrow = kernel_weights(kernel, 3, 10)  # narrower than a cell: (nearly) all in the centre cell
        assert narrow[narrow.shape[0] // 2, narrow.shape[1] // 2] == pytest.approx(1.0, abs=0.02)
    assert kernel_weights("quartic", 3, 10).shape == (1, 1)
    with pytest.raises(ValueError, match="kernel"):
        kernel_weights("epanechnikov", 75, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cells"):
        kde_surface([[0, 0], [1e6, 1e6]], None, 10, 100)


def test_mean_nearest_neighbour_distance_on_a_lattice_is_its_spacing():
    gx, gy = np.meshgrid(np.arange(10) * 50.0, np.arange(7) * 50.0)
    lattice = np.column_stack([gx.ravel(), gy.ravel()])
    assert bandwidth(lattice, rule="nn") == pytest.approx(50.0)
    # repeated snapped points are one weighted location, not a distance of 0
    repeated = np.vstack([lattice, lattice[:20]])
    assert bandwidth(repeated, np.arange(len(repeated)) + 1.0, rule="nn") == pytest.approx(50.0)


def test_silverman_rule_on_known_configurations():
    d = 100.0
    square = [(-d, -d), (-d, d), (d, -d), (d, d)]
    # standard distance = median distance = d·√2; the SD term is the smaller one
    assert bandwidth(square, rule="silverman") == pytest.approx(0.9 * d * math.sqrt(2) * 4**-0.2)
    # weights count as points: n is the total weight
    assert bandwidth(square, [2, 2, 2, 2], rule="silverman") == pytest.approx(
        0.9 * d * math.sqrt(2) * 8**-0.2
    )
    # two far outliers inflate SD; the median distance (1 m) decides
    cross = [(1, 0), (-1, 0), (0, 1), (0, -1), (100, 0), (-100, 0)]
    expected = 0.9 * math.sqrt(1 / math.log(2)) * 1.0 * 6**-0.2
    assert bandwidth(cross, rule="silverman") == pytest.approx(expected)


def test_bandwidth_needs_two_places_and_a_known_rule():
    with pytest.raises(ValueError, match="two distinct"):
        bandwidth([(5, 5), (5, 5)], rule="nn")
    with pytest.raises(ValueError, match="rule"):
        bandwidth([(0, 0), (1, 1)], rule="scott")  # type: ignore[arg-type]


def _concerns_csv(tmp_path):
    rows = ["id,reported_at,lat,lon,theme"]
    for i in range(12):  # one place, one day: a single near-duplicate group
        rows.append(f"n{i},2025-03-01 10:00,60.1700,24.9400,noise")
    for i in range(8):  # spread over a few hundred metres and weeks
        rows.append(
            f"d{i},2025-03-{10 + i:02d} 22:00,{60.1690 + 0.0015 * i:.4f},{24.9420 + 0.0010 * i:.4f},drugs"
        )
    rows.append("s1,2025-03-05 09:00,60.1700,24.9400,domestic")
    return write_text(tmp_path / "concerns.csv", "\n".join(rows) + "\n")


def test_kde_for_store_reads_weighted_locations_and_returns_a_heat_layer(con, settings, tmp_path):
    empty = kde_for_store(con)
    assert empty["total"] == 0 and len(empty["lon"]) == 0
    ingest_file(con, settings, _concerns_csv(tmp_path), kind="concerns", source="app")

    result = kde_for_store(con, cell_m=25, min_share=0.0, flt=Filter(unit="reports"))
    assert result["total"] == 20  # the sensitive report is left out unless named
    assert result["n_locations"] == 9
    assert result["bandwidth_m"] >= 100  # never below the 100 m snapping grid
    assert result["unit"] == "reports per km²"
    cell_km2 = (result["cell_m"] / 1000) ** 2
    assert result["density"].sum() * cell_km2 == pytest.approx(20, rel=0.01)
    peak = np.argmax(result["density"])
    assert result["lon"][peak] == pytest.approx(24.94, abs=0.002)
    assert result["lat"][peak] == pytest.approx(60.17, abs=0.001)

    heat = kde_for_store(con, cell_m=25, kernel="gaussian", bandwidth_m=150, flt=Filter(unit="reports"))
    assert heat["bandwidth_rule"] == "user" and heat["bandwidth_m"] == 150
    assert heat["density"].min() >= 0.01 * heat["max_density"]
    assert len(heat["lon"]) == len(heat["lat"]) == len(heat["density"]) > 0

    groups = kde_for_store(con, flt=Filter(unit="groups"))  # the 12 same-day noise reports are one group
    assert groups["total"] == 9
    assert kde_for_store(con, flt=Filter(themes=("drugs",), unit="reports"))["total"] == 8
    assert kde_for_store(con, flt=Filter(themes=("domestic",), unit="reports"))["total"] == 1
    assert (
        kde_for_store(
            con, flt=Filter(since=datetime(2025, 3, 12), until=datetime(2025, 3, 15), unit="reports")
        )["total"]
        == 3
    )
    assert kde_for_store(con, flt=Filter(areas=("NOWHERE",)))["total"] == 0
