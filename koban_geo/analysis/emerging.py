"""Emerging hotspots: how each cell's Gi* hot or cold spot history over time slices reads, in plain words.

Input contract of `classify`. For a grid of ``n_cells`` cells and ``n_slices`` time slices (weeks or months,
oldest first) give three arrays of shape ``[n_cells, n_slices]``:

- ``z``: the Gi* z-score of each cell in each slice (float; NaN where a slice has none). Only the
  Mann-Kendall trend test reads it.
- ``bins``: the Gi* confidence bin of each cell in each slice (int, -3..3, as `gistar.gi_bins` and Esri's
  Gi_Bin give it: 1, 2, 3 = hot spot at 90, 95, 99 % confidence; -1, -2, -3 = cold spot; 0 = not
  significant). A slice is *hot* when ``bins >= min_confidence`` and *cold* when ``bins <= -min_confidence``;
  the default ``min_confidence=1`` takes every significant bin, as Esri does.
- ``counts``: the reports per cell and slice; only the small-numbers warning reads them.

The categories follow Esri's Emerging Hot Spot Analysis ("How Emerging Hot Spot Analysis works", ArcGIS
Pro), paraphrased below for hot spots; each cold category is the mirror image (cold for hot, and a
decreasing trend in z for an increasing one, since a cold spot intensifies as its z falls).

    new            hot in the final slice and never hot before.
    consecutive    one uninterrupted run of at least two hot slices ending in the final slice; never hot
                   before that run; fewer than 90 % of all slices hot.
    intensifying   hot in at least 90 % of slices, the final one included, and the clustering grows
                   stronger: the Mann-Kendall trend of the cell's Gi* z-scores is up and significant.
    persistent     hot in at least 90 % of slices (the final one included, see below) with no
                   significant trend in the z-scores.
    diminishing    hot in at least 90 % of slices, the final one included, with a significant downward
                   trend in the z-scores.
    sporadic       hot in the final slice, on again and off again before; fewer than 90 % of slices
                   hot and never a cold spot.
    oscillating    hot in the final slice after having been a cold spot in some earlier slice; fewer
                   than 90 % of slices hot.
    historical     not hot in the final slice, but hot in at least 90 % of slices.
    no pattern     none of the above.

Details Esri leaves open, and where we depart from it:

- *90 percent* is exact integer arithmetic, ``10 * hot >= 9 * n_slices``; with fewer than ten slices this
  means every slice.
- *Trend*: Mann-Kendall on the cell's Gi* z-scores (Esri's TREND_BIN does the same), two-sided, with the
  tie-corrected variance and the normal approximation with continuity correction; significant when
  ``p < alpha`` (default 0.05; Esri's table names no level). Slices with NaN z are left out of the test.
  With fewer than five slices no trend can reach ``p < 0.05``, so short windows give persistent, never
  intensifying or diminishing.
- *Persistent* in Esri's table does not say "including the final slice", but a ≥90 % cell whose final
  slice is not hot is Esri's *historical*; so persistent needs the final slice hot, like its neighbours.
- *Overlaps.* Esri's definitions are not mutually exclusive. A cell hot only in the final slice after
  cold spells is both *new* and *oscillating*; we take the first in Esri's own table order (new,
  consecutive, intensifying, persistent, diminishing, sporadic, oscillating, historical), so it is new.
  A cell cold in ≥90 % of slices but hot in the final one is both *new hot* and *historical cold*: here
  the final slice decides (hot now, so the hot family; cold now, the cold family; neither, then historical
  or no pattern). That keeps hot and cold exact mirrors of each other (a property the tests check) and
  never hides a current hotspot behind a "was quiet" label. sfdep (R) orders these differently; we follow
  Esri's text.
- *Small numbers* is ours, not Esri's: a cell is flagged when its reports over the last
  ``small_window`` slices (default 3, fewer if the window is shorter) total under ``small_total``
  (default 10). Gi* on a handful of reports swings with every report; the label then says so.

Plain-language labels come from the message catalogues (koban_geo/locales, `label`), counted ones through
ngettext so each language picks its own form ("od 1 miesiąca", "od 4 miesięcy"). ``label_params["n"]`` is
the number a label shows:

    new             1
    consecutive     length of the final run
    intensifying,   slices since the cell was first hot (cold): "getting worse for 7 months"
    persistent,
    diminishing
    sporadic,       number of hot (cold) slices
    oscillating
    historical      slices since it was last hot (cold)
    no pattern      0

>>> import numpy as np
>>> bins = np.array([[0, 0, 0, 0, 0, 2]])
>>> [c.label for c in classify(bins * 1.5, bins, np.full((1, 6), 5))]
['new this month']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from scipy import special

from koban_geo.store.i18n import LANGUAGES, N_, gettext, ngettext

Trend = Literal["up", "down", "none"]
UNITS = ("week", "month")

# Esri's table order within a family: the first matching rule wins (see the module docstring).
PATTERNS = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "oscillating",
    "historical",
)
CODES = (
    *(f"{p}_hot" for p in PATTERNS),
    *(f"{p}_cold" for p in PATTERNS),
    "no_pattern",
)


class MKResult(NamedTuple):
    """Mann-Kendall trend test of one series against time: Kendall's tau-b, S, z, two-sided p, trend."""

    tau: float
    s: int
    z: float
    p: float
    trend: Trend


@dataclass(frozen=True)
class Category:
    """One cell's emerging-hotspot category.

    ``code`` is one of `CODES`; ``hot`` is True for the hot family, False for the cold one and None for no
    pattern; ``label`` is the English label (`label` gives other languages) and ``label_params`` what it is
    built from (``n``, ``unit``, ``slices``, ``hot_slices``, ``cold_slices``) so a UI can word it itself;
    ``small_numbers`` warns that the cell's recent counts are few; ``trend``/``trend_p`` are the
    Mann-Kendall result on the cell's z-scores.
    """

    code: str
    hot: bool | None
    label: str
    label_params: dict[str, Any]
    small_numbers: bool
    trend: Trend = "none"
    trend_p: float = 1.0


# --- Mann-Kendall ---------------------------------------------------------------------------------------


def _mk(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """S, tie-corrected Var(S), tau-b, z and p for each row; NaN/inf entries are left out of their row."""
    x = np.asarray(matrix, dtype=np.float64)
    finite = np.isfinite(x)
    xf = np.where(finite, x, 0.0)
    n_cells, n_slices = x.shape
    s = np.zeros(n_cells, dtype=np.int64)
    for lag in range(1, n_slices):  # every pair (i, i + lag) of one row, all rows at once
        diff = xf[:, lag:] - xf[:, :-lag]
        both = finite[:, lag:] & finite[:, :-lag]
        s += ((diff > 0) & both).sum(axis=1) - ((diff < 0) & both).sum(axis=1)
    # t[i, j]: size of the tie group x[i, j] belongs to. Sum over groups of f(t) = sum over members of f(t)/t.
    ties = np.zeros(x.shape, dtype=np.int64)
    for j in range(n_slices):
        ties += (xf == xf[:, j : j + 1]) & finite[:, j : j + 1]
    ties = np.where(finite, ties, 1)  # 1 makes a missing entry contribute nothing below
    m = finite.sum(axis=1).astype(np.float64)
    tie_var = ((ties - 1) * (2 * ties + 5)).sum(axis=1)  # sum over groups of t(t-1)(2t+5)
    tied_pairs = (ties - 1).sum(axis=1) / 2  # sum over groups of t(t-1)/2
    var = (m * (m - 1) * (2 * m + 5) - tie_var) / 18
    sd = np.sqrt(np.maximum(var, 0.0))
    z = np.divide(s - np.sign(s), sd, out=np.zeros(n_cells), where=sd > 0)
    p = np.minimum(special.erfc(np.abs(z) / np.sqrt(2.0)), 1.0)
    pairs = m * (m - 1) / 2
    denom = np.sqrt((pairs - tied_pairs) * pairs)
    tau = np.divide(s, denom, out=np.zeros(n_cells), where=denom > 0)
    return s, var, tau, z, p


def _trend(z: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    """+1 for a significant upward trend, -1 for a significant downward one, 0 otherwise."""
    return np.where(p < alpha, np.sign(z), 0.0).astype(np.int8)


def mann_kendall(series: np.ndarray, alpha: float = 0.05) -> MKResult:
    """Mann-Kendall trend test of one series in time order (tie-corrected, continuity-corrected normal p).

    ``tau`` is Kendall's tau-b against time (0 for a constant series, where it is undefined); NaN entries
    are left out. ``trend`` is "up"/"down" when ``p < alpha``.

    >>> mann_kendall(np.array([1, 3, 2, 4, 4])).s
    7
    """
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"mann_kendall takes one series (1-D), got shape {x.shape}")
    _check_alpha(alpha)
    s, _var, tau, z, p = _mk(x[None, :])
    sign = int(_trend(z, p, alpha)[0])
    trend: Trend = "up" if sign > 0 else "down" if sign < 0 else "none"
    return MKResult(tau=float(tau[0]), s=int(s[0]), z=float(z[0]), p=float(p[0]), trend=trend)


def mann_kendall_many(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall z and two-sided p for each row of ``[n_cells, n_slices]`` (vectorised over cells)."""
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"mann_kendall_many takes [n_cells, n_slices], got shape {x.shape}")
    _s, _var, _tau, z, p = _mk(x)
    return z, p


# --- classification -------------------------------------------------------------------------------------


def _family(sig: np.ndarray, other: np.ndarray, trend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pattern index into PATTERNS (-1: none) and the label's number, for one family (hot or cold).

    ``sig`` marks the family's significant slices, ``other`` the opposite family's, ``trend`` is +1 when
    the z-scores move the family's way (up for hot, down for cold) and -1 when they move against it.
    """
    n_cells, n = sig.shape
    count = sig.sum(axis=1)
    final = sig[:, -1]
    run = np.cumprod(sig[:, ::-1], axis=1).sum(axis=1)  # length of the run that ends in the final slice
    first = np.where(sig.any(axis=1), sig.argmax(axis=1), n)
    last = np.where(sig.any(axis=1), n - 1 - sig[:, ::-1].argmax(axis=1), -1)
    ninety = 10 * count >= 9 * n
    rules = [
        final & (count == 1),
        final & (run >= 2) & (count == run) & ~ninety,
        final & ninety & (trend > 0),
        final & ninety & (trend == 0),
        final & ninety & (trend < 0),
        final & ~ninety & ~other.any(axis=1),
        final & ~ninety & other.any(axis=1),
        ~final & ninety,
    ]
    numbers = [np.ones(n_cells), run, n - first, n - first, n - first, count, count, n - 1 - last]
    pattern = np.select(rules, list(range(len(PATTERNS))), default=-1)
    number = np.select(rules, numbers, default=0).astype(np.int64)
    return pattern, number


def classify(
    z: np.ndarray,
    bins: np.ndarray,
    counts: np.ndarray,
    alpha: float = 0.05,
    *,
    unit: str = "month",
    min_confidence: int = 1,
    small_total: float = 10,
    small_window: int = 3,
) -> list[Category]:
    """One `Category` per cell from per-slice Gi* z-scores, Gi* bins and counts, all ``[n_cells, n_slices]``.

    See the module docstring for the input contract and the rules; ``alpha`` is the Mann-Kendall level,
    ``unit`` ("week" or "month") the length of a slice, used in labels.
    """
    z = np.asarray(z, dtype=np.float64)
    bins = np.asarray(bins)
    counts = np.asarray(counts, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"z must be [n_cells, n_slices], got shape {z.shape}")
    if bins.shape != z.shape or counts.shape != z.shape:
        raise ValueError(
            f"z, bins and counts must share one shape, got {z.shape}, {bins.shape}, {counts.shape}"
        )
    if z.shape[1] == 0:
        raise ValueError("need at least one time slice")
    whole_floats = np.issubdtype(bins.dtype, np.floating) and bool(
        np.all(np.isfinite(bins)) and np.all(bins == np.round(bins))
    )
    if not (np.issubdtype(bins.dtype, np.integer) or whole_floats):
        raise ValueError("bins must be whole numbers -3..3 (Gi* confidence bins)")
    if bins.size and (bins.min() < -3 or bins.max() > 3):
        raise ValueError("bins must lie in -3..3 (Gi* confidence bins)")
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    if min_confidence not in (1, 2, 3):
        raise ValueError("min_confidence must be 1 (90 %), 2 (95 %) or 3 (99 %)")
    if small_window < 1:
        raise ValueError("small_window must be at least 1")
    _check_alpha(alpha)

    bins = bins.astype(np.int64)
    hot = bins >= min_confidence
    cold = bins <= -min_confidence
    mk_z, mk_p = mann_kendall_many(z)
    trend = _trend(mk_z, mk_p, alpha)
    hot_pattern, hot_n = _family(hot, cold, trend)
    cold_pattern, cold_n = _family(cold, hot, -trend)
    # The final slice decides the family; with neither, only a historical pattern can apply.
    use_hot = hot[:, -1] | (~cold[:, -1] & (hot_pattern >= 0))
    use_cold = ~use_hot & (cold_pattern >= 0)
    recent = np.nansum(counts[:, -small_window:], axis=1)
    small = recent < small_total
    n_slices = z.shape[1]
    hot_slices = hot.sum(axis=1)
    cold_slices = cold.sum(axis=1)

    out: list[Category] = []
    for i in range(z.shape[0]):
        if use_hot[i]:
            code, is_hot, n = f"{PATTERNS[hot_pattern[i]]}_hot", True, int(hot_n[i])
        elif use_cold[i]:
            code, is_hot, n = f"{PATTERNS[cold_pattern[i]]}_cold", False, int(cold_n[i])
        else:
            code, is_hot, n = "no_pattern", None, 0
        params = {
            "n": n,
            "unit": unit,
            "slices": n_slices,
            "hot_slices": int(hot_slices[i]),
            "cold_slices": int(cold_slices[i]),
        }
        direction: Trend = "up" if trend[i] > 0 else "down" if trend[i] < 0 else "none"
        text = _render(code, params, bool(small[i]), "en")
        out.append(Category(code, is_hot, text, params, bool(small[i]), direction, float(mk_p[i])))
    return out


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")


# --- labels ---------------------------------------------------------------------------------------------

# Each category's label per time unit, from the message catalogues (koban_geo/locales): counted ones through
# ngettext, so each language picks its own form of the unit ("od 1 miesiąca", "od 4 miesięcy"); {n} is filled
# in afterwards. A label with no number or unit has the key (code, "").
_LABELS: dict[tuple[str, str], Callable[[int, str], str]] = {
    ("new_hot", "week"): lambda n, lang: gettext("new this week", lang),
    ("new_hot", "month"): lambda n, lang: gettext("new this month", lang),
    ("consecutive_hot", "week"): lambda n, lang: ngettext(
        "a hotspot for the last {n} week", "a hotspot for the last {n} weeks", n, lang
    ),
    ("consecutive_hot", "month"): lambda n, lang: ngettext(
        "a hotspot for the last {n} month", "a hotspot for the last {n} months", n, lang
    ),
    ("intensifying_hot", "week"): lambda n, lang: ngettext(
        "getting worse for {n} week", "getting worse for {n} weeks", n, lang
    ),
    ("intensifying_hot", "month"): lambda n, lang: ngettext(
        "getting worse for {n} month", "getting worse for {n} months", n, lang
    ),
    ("persistent_hot", "week"): lambda n, lang: ngettext(
        "persistent for {n} week", "persistent for {n} weeks", n, lang
    ),
    ("persistent_hot", "month"): lambda n, lang: ngettext(
        "persistent for {n} month", "persistent for {n} months", n, lang
    ),
    ("diminishing_hot", ""): lambda n, lang: gettext("still a hotspot, but fading", lang),
    ("sporadic_hot", ""): lambda n, lang: gettext("a hotspot on and off", lang),
    ("oscillating_hot", ""): lambda n, lang: gettext("a hotspot now, unusually quiet before", lang),
    ("historical_hot", ""): lambda n, lang: gettext("was a hotspot, not any more", lang),
    ("new_cold", "week"): lambda n, lang: gettext("newly quiet this week", lang),
    ("new_cold", "month"): lambda n, lang: gettext("newly quiet this month", lang),
    ("consecutive_cold", "week"): lambda n, lang: ngettext(
        "quiet for the last {n} week", "quiet for the last {n} weeks", n, lang
    ),
    ("consecutive_cold", "month"): lambda n, lang: ngettext(
        "quiet for the last {n} month", "quiet for the last {n} months", n, lang
    ),
    ("intensifying_cold", "week"): lambda n, lang: ngettext(
        "getting quieter for {n} week", "getting quieter for {n} weeks", n, lang
    ),
    ("intensifying_cold", "month"): lambda n, lang: ngettext(
        "getting quieter for {n} month", "getting quieter for {n} months", n, lang
    ),
    ("persistent_cold", "week"): lambda n, lang: ngettext(
        "steadily quiet for {n} week", "steadily quiet for {n} weeks", n, lang
    ),
    ("persistent_cold", "month"): lambda n, lang: ngettext(
        "steadily quiet for {n} month", "steadily quiet for {n} months", n, lang
    ),
    ("diminishing_cold", ""): lambda n, lang: gettext("still quiet, but less so", lang),
    ("sporadic_cold", ""): lambda n, lang: gettext("quiet on and off", lang),
    ("oscillating_cold", ""): lambda n, lang: gettext("quiet now, a hotspot before", lang),
    ("historical_cold", ""): lambda n, lang: gettext("was quiet, not any more", lang),
    ("no_pattern", ""): lambda n, lang: gettext("no clear pattern", lang),
}
CAUTION = N_("{label} (few reports: treat with care)")  # wraps a label when the cell has few reports


def _render(code: str, params: Mapping[str, Any], small_numbers: bool, lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"no labels for language {lang!r}; have {', '.join(LANGUAGES)}")
    n, unit = int(params["n"]), str(params["unit"])
    template = _LABELS.get((code, unit)) or _LABELS[(code, "")]
    text = template(n, lang).format(n=n)
    return gettext(CAUTION, lang).format(label=text) if small_numbers else text


def label(category: Category, lang: str = "en") -> str:
    """The category's plain-language label in ``lang`` (one of `LANGUAGES`), with the few-reports caution if due."""
    return _render(category.code, category.label_params, category.small_numbers, lang)
