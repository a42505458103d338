"""The cell key perturbation table against hand-worked rows (koban_geo/privacy/cellkey.py).

Written for mutation testing (docs/testing.md): the release tests check what a public table shows, these
check the table itself, key by key.
"""

from __future__ import annotations

import numpy as np
import pytest

from koban_geo.privacy.cellkey import BASE, MAX_NOISE, noise, perturb, perturbation_table


def histogram(row: np.ndarray) -> dict[int, int]:
    values, counts = np.unique(row, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def test_rows_worked_by_hand() -> None:
    table = perturbation_table(5)
    assert table.k == 5 and table.rows.shape == (MAX_NOISE + 1, 256) and table.rows.dtype == np.int8
    # n = k: no noise at all, so a published k is never pushed under k
    assert histogram(table.rows[0]) == {0: 256}
    # n = k + 1: the 13 keys of -2 move to -1 (77); the sum is then +13, taken back by moving six keys of +2
    # and one of +1 to 0 (6 * 2 + 1 = 13)
    assert histogram(table.rows[1]) == {-1: 77, 0: 109, 1: 63, 2: 7}
    # n >= k + 2: the base distribution itself
    assert histogram(table.rows[2]) == dict(zip(range(-2, 3), BASE, strict=True))
    assert all(int(row.astype(int).sum()) == 0 for row in table.rows)  # zero mean over the keys, exactly


def test_keys_are_in_ranges_like_the_ons_tables() -> None:
    row = perturbation_table(5).rows[2]
    assert row[0] == row[12] == -2 and row[13] == row[76] == -1 and row[77] == row[178] == 0
    assert row[179] == row[242] == 1 and row[243] == row[255] == 2
    assert (np.diff(row.astype(int)) >= 0).all()


def test_variance_per_count() -> None:
    table = perturbation_table(5)
    assert table.variance(5) == 0.0
    assert table.variance(6) == pytest.approx((77 + 63 + 7 * 4) / 256)
    assert table.variance(7) == table.variance(1000) == pytest.approx(2 * (13 * 4 + 64) / 256)


def test_noise_and_perturb_agree_key_by_key() -> None:
    table = perturbation_table(4)
    counts = np.array([0, 1, 3, 4, 5, 6, 7, 50] * 256, dtype=np.int64)
    keys = np.repeat(np.arange(256), 8) + 256 * 3  # keys wrap around mod 256
    published = perturb(counts, keys, table)
    expected = [n + noise(int(n), int(key), table) for n, key in zip(counts, keys, strict=True)]
    assert published.tolist() == expected
    assert (published[counts < 4] == counts[counts < 4]).all()  # hidden anyway: unchanged, zeros stay zero
    assert published[counts >= 4].min() >= 4  # never a small count
    assert (np.abs(published - counts) <= MAX_NOISE).all()
    assert noise(3, 0, table) == 0 and noise(4, 0, table) == 0 and noise(6, 0, table) == -2
    assert noise(5, 0, table) == -1 and noise(5, 255, table) == 2 and noise(5, 256 + 255, table) == 2
    assert perturb(np.array([9]), np.array([100]), table).dtype == np.int64


def test_the_smallest_k_that_fits_the_noise() -> None:
    assert perturbation_table(MAX_NOISE + 1).k == 3
    with pytest.raises(ValueError, match="k must be at least 3"):
        perturbation_table(MAX_NOISE)
    assert perturbation_table(5) is perturbation_table(5)  # built once per k
    with pytest.raises(ValueError):
        perturbation_table(5).rows[0, 0] = 1  # read-only: nobody can change the published noise


def test_published_counts_are_whole_numbers_whatever_the_input_dtype() -> None:
    # counts and keys may come out of pandas as floats (a column with a NULL): the result is still int64
    out = perturb(np.array([9.0, 3.0, 7.0]), np.array([255.0, 0.0, 0.0]), perturbation_table(5))
    assert out.dtype == np.int64 and out.tolist() == [11, 3, 5]
