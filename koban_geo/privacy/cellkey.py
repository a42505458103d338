"""The cell key method: public counts that stay the same however they are asked for, and whose differences
stop giving hidden counts away (ABS TableBuilder, Eurostat / ONS census 2021).

Every concern has two fixed record keys 0..255, stored with it (migration 0009, `concerns.record_key` and
`concerns.group_key`): the key of the report, and the key of its near-duplicate group (the same for every
member; for a concern in no group the two are equal). A key is the first byte of
SHA-256(salt || '/' || name), where name is 'source/id' (report) or the group's name, and the salt is 32
random bytes made once per store (`koban_geo.store.db.ensure_cell_keys`) and kept in its meta table. So the keys are

- fixed: stored once at ingest (a DuckDB upgrade or a new hash function never changes them), and a report or
  group ingested again gets the same key from the same name;
- unpredictable to outsiders: nobody without the store can compute one (the salt never leaves it);
- kept by backup and restore: they are data, and the salt is in the meta table that backups copy.

A cell's key is the sum of its records' keys mod 256 (the counting queries return it beside each count, in
the same scan), and the perturbation table below maps (count, cell key) to a small noise: the same records
always give the same key and the same published value.

    >>> table = perturbation_table(5)
    >>> [int(noise(n, 0, table)) for n in (0, 5, 6, 9)]  # zeros stay zero; k is never pushed below k
    [0, 0, -1, -2]
    >>> int(perturb(np.array([0, 3, 12]), np.array([200, 17, 255]), table)[2]) - 12
    2
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = [
    "BASE",
    "MAX_NOISE",
    "PerturbationTable",
    "noise",
    "perturb",
    "perturbation_table",
]

MAX_NOISE = 2  # D: no published count is more than 2 from the true one
# Out of the 256 cell keys, how many give noise -2, -1, 0, +1, +2 to a count far from k: zero mean,
# variance (2 * (13 * 4 + 64)) / 256 = 0.906 (V), and 0 for only 102/256 = 40 % of the cells.
BASE: tuple[int, ...] = (13, 64, 102, 64, 13)


@dataclass(frozen=True)
class PerturbationTable:
    """noise[min(n, k + D) - k, cell key] for true counts n >= k (counts under k are hidden, 0 stays 0).

    Each row has zero mean over the 256 keys exactly, noise in [-D, D], and never takes a count below k:
    for n = k the noise is 0, for n = k + 1 it is at least -1 (published values are never small counts).
    """

    k: int
    rows: np.ndarray  # (D + 1, 256) int8

    def variance(self, n: int) -> float:
        row = self.rows[min(n, self.k + MAX_NOISE) - self.k].astype(float)
        return float((row**2).mean())


def _row(lowest: int) -> np.ndarray:
    """The 256 noises of a count whose noise may not go below `lowest` (-D .. 0): BASE with the mass under
    `lowest` moved onto it, then mass moved from positive noise to zero until the mean is 0 again."""
    values = np.arange(-MAX_NOISE, MAX_NOISE + 1)
    counts = dict(zip(values.tolist(), BASE, strict=True))
    for v in range(-MAX_NOISE, lowest):
        counts[lowest] += counts.pop(v)
    excess = sum(v * c for v, c in counts.items())  # > 0 once negative noise was cut off
    for v in sorted((v for v in counts if v > 0), reverse=True):
        while excess >= v and counts[v] > 0:  # a key moved from +v to 0 lowers the sum by v
            counts[v] -= 1
            counts[0] += 1
            excess -= v
    assert excess == 0 and sum(counts.values()) == 256
    return np.repeat(np.array(sorted(counts), dtype=np.int8), [counts[v] for v in sorted(counts)])


@cache
def perturbation_table(k: int) -> PerturbationTable:
    """The table for suppression threshold k: key ranges in order, like the ABS/ONS ptables (cell keys
    0..c0-1 give the most negative noise of the row, the next c1 the next one, ...)."""
    if k < MAX_NOISE + 1:
        raise ValueError(f"k must be at least {MAX_NOISE + 1} for noise of up to {MAX_NOISE}, not {k}")
    rows = np.stack([_row(-min(i, MAX_NOISE)) for i in range(MAX_NOISE + 1)])
    rows.setflags(write=False)
    return PerturbationTable(k, rows)


def noise(n: int, cell_key: int, table: PerturbationTable) -> int:
    """The noise added to a true count n >= k with this cell key (0 for n < k: hidden or zero anyway)."""
    if n < table.k:
        return 0
    return int(table.rows[min(n, table.k + MAX_NOISE) - table.k, int(cell_key) % 256])


def perturb(counts: np.ndarray, cell_keys: np.ndarray, table: PerturbationTable) -> np.ndarray:
    """Published values of true counts (int64 array) with their cell keys: n + noise for n >= k, counts
    under k unchanged (they are hidden by suppression, and zeros stay zero)."""
    counts = np.asarray(counts, dtype=np.int64)
    keys = np.asarray(cell_keys, dtype=np.int64) % 256
    big = counts >= table.k
    row = np.minimum(counts, table.k + MAX_NOISE) - table.k
    out = counts.copy()
    out[big] += table.rows[row[big], keys[big]]
    return out
