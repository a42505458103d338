"""Emerging hotspots: the Mann-Kendall test against hand sums and SciPy, and one constructed series per category."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from koban_geo.analysis.emerging import (
    CODES,
    PATTERNS,
    Category,
    classify,
    label,
    mann_kendall,
    mann_kendall_many,
)
from koban_geo.store.i18n import LANGUAGES as LANGS

N = 12  # slices in the constructed series

# --- Mann-Kendall ---------------------------------------------------------------------------------------


def test_mann_kendall_hand_computed():
    # x = 1 3 2 4 4: signs of later minus earlier, row by row: +4, +1 (-1 +1 +1), +2, 0 -> S = 7.
    # One tie group of 2: Var(S) = (5*4*15 - 2*1*9) / 18 = 282/18; z = (S - 1) / sqrt(Var); tau-b = 7 / sqrt(9*10).
    result = mann_kendall(np.array([1, 3, 2, 4, 4]))
    z = 6 / math.sqrt(282 / 18)
    assert result.s == 7
    assert result.z == pytest.approx(z, rel=1e-12)
    assert result.p == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    assert result.tau == pytest.approx(7 / math.sqrt(90), rel=1e-12)
    assert result.trend == "none"  # p = 0.13


def test_mann_kendall_significant_example():
    # Strictly increasing, n = 10: S = 45, Var = 10*9*25/18 = 125, z = 44/sqrt(125) = 3.94.
    result = mann_kendall(np.arange(10.0))
    assert (result.s, result.tau, result.trend) == (45, 1.0, "up")
    assert result.z == pytest.approx(44 / math.sqrt(125))
    assert mann_kendall(np.arange(10.0)[::-1]).trend == "down"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=3, max_size=40))
def test_mann_kendall_agrees_with_scipy_kendalltau(values):
    x = np.array(values, dtype=float)
    ours = mann_kendall(x)
    if len(set(values)) == 1:
        assert (ours.s, ours.z, ours.p, ours.tau) == (0, 0.0, 1.0, 0.0)
        return
    ref = stats.kendalltau(np.arange(len(x)), x, method="asymptotic")
    assert ours.tau == pytest.approx(ref.statistic, abs=1e-12)
    assert np.sign(ours.z) == np.sign(ours.s) or ours.s in (-1, 1)
    assert np.sign(ours.s) == np.sign(ref.statistic)
    assert ours.p >= ref.pvalue - 1e-12  # the continuity correction only makes p larger
    if abs(ours.s) > 1:
        # Same tie-corrected variance as SciPy: SciPy's z is S / sd, ours (|S| - 1) / sd.
        sd = (abs(ours.s) - 1) / abs(ours.z)
        assert ref.pvalue == pytest.approx(math.erfc(abs(ours.s) / sd / math.sqrt(2)), rel=1e-9, abs=1e-15)


@given(st.lists(st.floats(-1e6, 1e6), min_size=5, max_size=30, unique=True))
def test_strictly_monotone_series_have_a_significant_trend(values):
    up = np.sort(np.array(values))
    assert mann_kendall(up).trend == "up"
    assert mann_kendall(up[::-1]).trend == "down"


@given(st.lists(st.integers(0, 4), min_size=1, max_size=30))
def test_monotone_series_with_ties_never_trend_the_other_way(values):
    up = np.sort(np.array(values, dtype=float))
    assert mann_kendall(up).s >= 0 and mann_kendall(up).trend != "down"
    assert mann_kendall(up[::-1]).s <= 0 and mann_kendall(up[::-1]).trend != "up"


@given(st.floats(-1e3, 1e3), st.integers(1, 50))
def test_constant_series_has_no_trend(value, n):
    result = mann_kendall(np.full(n, value))
    assert (result.s, result.z, result.p, result.trend) == (0, 0.0, 1.0, "none")


@given(st.lists(st.integers(-5, 5), min_size=2, max_size=30))
def test_reversing_the_series_flips_s_z_and_tau_and_keeps_p(values):
    x = np.array(values, dtype=float)
    forward, backward = mann_kendall(x), mann_kendall(x[::-1])
    assert backward.s == -forward.s
    assert backward.z == -forward.z
    assert backward.tau == pytest.approx(-forward.tau)
    assert backward.p == forward.p


@given(st.lists(st.integers(-20, 20), min_size=2, max_size=30))
def test_only_ranks_matter(values):
    x = np.array(values, dtype=float)
    assert mann_kendall(x) == mann_kendall(x**3 + 7.0)  # strictly increasing transform


@settings(deadline=None)
@given(st.lists(st.lists(st.integers(-3, 3), min_size=8, max_size=8), min_size=1, max_size=10))
def test_many_matches_one_at_a_time_and_follows_row_order(rows):
    matrix = np.array(rows, dtype=float)
    z, p = mann_kendall_many(matrix)
    assert z.shape == p.shape == (len(rows),)
    assert z.dtype == p.dtype == np.float64
    for i, row in enumerate(matrix):
        one = mann_kendall(row)
        assert (z[i], p[i]) == (one.z, one.p)
    order = np.arange(len(rows))[::-1]
    z_rev, p_rev = mann_kendall_many(matrix[order])
    np.testing.assert_array_equal(z_rev, z[order])
    np.testing.assert_array_equal(p_rev, p[order])


def test_missing_values_are_left_out():
    x = np.array([1.0, np.nan, 2.0, 5.0, np.inf, 3.0, 6.0, 7.0])
    assert mann_kendall(x) == mann_kendall(x[np.isfinite(x)])
    z, p = mann_kendall_many(np.array([[np.nan] * 4, [1.0, np.nan, np.nan, np.nan]]))
    assert list(z) == [0.0, 0.0] and list(p) == [1.0, 1.0]


def test_mann_kendall_input_checks():
    with pytest.raises(ValueError, match="1-D"):
        mann_kendall(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_cells, n_slices"):
        mann_kendall_many(np.zeros(3))
    with pytest.raises(ValueError, match="alpha"):
        mann_kendall(np.arange(5.0), alpha=0)
    assert mann_kendall(np.array([])).trend == "none"


# --- one constructed series per category ----------------------------------------------------------------

RISING = np.linspace(1.0, 6.0, N)
FLAT = np.array([3.1, 3.5, 3.0, 3.6, 3.2, 3.4, 3.3, 3.1, 3.5, 3.2, 3.4, 3.3])

# pattern: (bins, z or None for z = 1.2 * bins, English label of the hot variant, label's number)
HOT_SERIES = {
    "new": ([0] * 11 + [2], None, "new this month", 1),
    "consecutive": ([0] * 8 + [1, 2, 2, 3], None, "a hotspot for the last 4 months", 4),
    "intensifying": ([0] + [2] * 11, RISING, "getting worse for 11 months", 11),
    "persistent": ([3] * 12, FLAT, "persistent for 12 months", 12),
    "diminishing": ([2] * 12, RISING[::-1] + 1, "still a hotspot, but fading", 12),
    "sporadic": ([0, 2, 0, 0, 1, 2, 0, 0, 2, 0, 0, 3], None, "a hotspot on and off", 5),
    "oscillating": ([-2, 0, 0, 1, 0, 0, -1, 0, 2, 0, 0, 2], None, "a hotspot now, unusually quiet before", 3),
    "historical": ([2] * 11 + [0], None, "was a hotspot, not any more", 1),
}
COLD_LABELS = {
    "new": "newly quiet this month",
    "consecutive": "quiet for the last 4 months",
    "intensifying": "getting quieter for 11 months",
    "persistent": "steadily quiet for 12 months",
    "diminishing": "still quiet, but less so",
    "sporadic": "quiet on and off",
    "oscillating": "quiet now, a hotspot before",
    "historical": "was quiet, not any more",
}


def series(pattern: str, sign: int = 1) -> tuple[np.ndarray, np.ndarray]:
    bins, z, _, _ = HOT_SERIES[pattern]
    b = np.array(bins)
    z_row = 1.2 * b if z is None else np.asarray(z, dtype=float)
    return sign * z_row[None, :], sign * b[None, :]


def one(z: np.ndarray, bins: np.ndarray, counts: np.ndarray | None = None, **kw) -> Category:
    counts = np.full(bins.shape, 20) if counts is None else counts
    (category,) = classify(z, bins, counts, **kw)
    return category


def test_every_pattern_has_a_constructed_series():
    assert set(HOT_SERIES) == set(PATTERNS) == set(COLD_LABELS)
    assert len(CODES) == 17


@pytest.mark.parametrize("pattern", PATTERNS)
def test_hot_series_classify_exactly(pattern):
    category = one(*series(pattern))
    _, _, text, n = HOT_SERIES[pattern]
    assert category.code == f"{pattern}_hot"
    assert category.hot is True
    assert category.label == text == label(category, "en")
    assert category.label_params == {
        "n": n,
        "unit": "month",
        "slices": N,
        "hot_slices": int((series(pattern)[1] > 0).sum()),
        "cold_slices": int((series(pattern)[1] < 0).sum()),
    }
    assert category.small_numbers is False


@pytest.mark.parametrize("pattern", PATTERNS)
def test_cold_series_classify_exactly(pattern):
    category = one(*series(pattern, sign=-1))
    assert category.code == f"{pattern}_cold"
    assert category.hot is False
    assert category.label == COLD_LABELS[pattern]
    assert category.label_params["n"] == HOT_SERIES[pattern][3]


def test_trend_is_reported_and_decides_between_the_ninety_percent_patterns():
    assert one(*series("intensifying")).trend == "up"
    assert one(*series("persistent")).trend == "none"
    assert one(*series("persistent")).trend_p > 0.05
    assert one(*series("diminishing")).trend == "down"
    assert one(*series("diminishing")).trend_p < 0.05
    # The same rising z in a cold spot is a cold spot fading: diminishing cold, not intensifying.
    assert one(RISING[None, :] - 7, -np.full((1, N), 2)).code == "diminishing_cold"  # z -6 .. -1
    assert one(-RISING[None, :], -np.full((1, N), 2)).code == "intensifying_cold"  # z -1 .. -6
    # A stricter alpha turns the trend off.
    assert one(*series("intensifying"), alpha=1e-9).code == "persistent_hot"


@pytest.mark.parametrize(
    ("bins", "code"),
    [
        ([0] * N, "no_pattern"),
        ([2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "no_pattern"),  # was hot once, long ago, for 2 of 12
        ([2] * 10 + [0, 0], "no_pattern"),  # 10 of 12 hot (83 %), final not hot: not historical
        ([-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 0], "no_pattern"),
    ],
)
def test_no_pattern(bins, code):
    b = np.array([bins])
    category = one(1.2 * b, b)
    assert (category.code, category.hot, category.label) == (code, None, "no clear pattern")
    assert category.label_params["n"] == 0


@pytest.mark.parametrize(
    ("bins", "code"),
    [
        # The 90 % line: 11 of 12 (91.7 %) is in, 10 of 12 (83 %) is not; a 10-slice run is then consecutive.
        ([0] + [2] * 11, "persistent_hot"),
        ([0, 0] + [2] * 10, "consecutive_hot"),
        ([2, 0, 0] + [2] * 9, "sporadic_hot"),  # hot before the final run: not consecutive
        ([0] * 10 + [0, 2], "new_hot"),
        ([0] * 9 + [2, 0, 2], "sporadic_hot"),  # a final run of one after earlier hot slices
        ([-2] * 11 + [2], "new_hot"),  # new before oscillating (Esri's table order) and final slice decides
        ([2] * 11 + [-2], "new_cold"),  # ... and its mirror: not historical_hot
        ([-2, -2] + [2] * 10, "consecutive_hot"),  # consecutive before oscillating
        ([-2] + [0] * 9 + [2, 2], "consecutive_hot"),
        ([2] * 9, "persistent_hot"),  # fewer than ten slices: 90 % means all of them
        ([0] + [2] * 8, "consecutive_hot"),
        ([2] * 8 + [0], "no_pattern"),
        ([2], "new_hot"),  # one slice: hot in the final slice and never before
        ([2, 2], "persistent_hot"),
    ],
)
def test_boundaries_and_overlaps(bins, code):
    b = np.array([bins])
    assert one(np.full(b.shape, 2.0) * np.sign(b), b).code == code


def test_min_confidence_raises_the_bar():
    b = np.array([[0] * 11 + [1]])
    assert one(1.2 * b, b).code == "new_hot"
    assert one(1.2 * b, b, min_confidence=2).code == "no_pattern"


# --- property tests: an independent reading of the rules ------------------------------------------------


def reference(bins: list[int], z: np.ndarray) -> str:
    """Esri's table read top to bottom, one cell at a time, with the final slice choosing hot or cold."""
    n = len(bins)
    trend = mann_kendall(z).trend

    def family(sig: list[bool], other: list[bool], toward: str, away: str) -> str | None:
        count = sum(sig)
        ninety = Fraction(count, n) >= Fraction(9, 10)
        run = 0
        for s in reversed(sig):
            if not s:
                break
            run += 1
        if not sig[-1]:
            return "historical" if ninety else None
        if count == 1:
            return "new"
        if run >= 2 and count == run and not ninety:
            return "consecutive"
        if ninety:
            return {toward: "intensifying", away: "diminishing"}.get(trend, "persistent")
        return "oscillating" if any(other) else "sporadic"

    hot = [b > 0 for b in bins]
    cold = [b < 0 for b in bins]
    hot_pattern = family(hot, cold, "up", "down")
    cold_pattern = family(cold, hot, "down", "up")
    if hot[-1] or (not cold[-1] and hot_pattern):
        return f"{hot_pattern}_hot"
    if cold_pattern:
        return f"{cold_pattern}_cold"
    return "no_pattern"


PALETTES = [(0,), (2,), (-2,), (0, 1, 2, 3), (0, -1, -3), (0, 2, 2, 2, 2), (-2, 0, 2), (-1, 0, 0, 1)]


@st.composite
def cubes(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n_slices = draw(st.integers(1, 15))
    n_cells = draw(st.integers(1, 8))
    bins, zs = [], []
    for _ in range(n_cells):
        palette = draw(st.sampled_from(PALETTES))
        row = draw(st.lists(st.sampled_from(palette), min_size=n_slices, max_size=n_slices))
        z = np.array(row, dtype=float) * 1.5 + np.array(
            draw(st.lists(st.floats(-0.3, 0.3), min_size=n_slices, max_size=n_slices))
        )
        order = draw(st.sampled_from(["as is", "rising", "falling"]))
        if order != "as is":
            z = np.sort(z) if order == "rising" else np.sort(z)[::-1]
        bins.append(row)
        zs.append(z)
    return np.array(zs), np.array(bins, dtype=np.int64)


@settings(max_examples=100, deadline=None)
@given(cubes())
def test_classify_matches_a_cell_by_cell_reading_of_the_rules(cube):
    z, bins = cube
    codes = [c.code for c in classify(z, bins, np.full(bins.shape, 5))]
    assert codes == [reference(list(b), zr) for b, zr in zip(bins, z, strict=True)]


@settings(max_examples=60, deadline=None)
@given(cubes())
def test_hot_and_cold_are_mirror_images(cube):
    z, bins = cube
    counts = np.full(bins.shape, 5)
    swap = {"hot": "cold", "cold": "hot"}
    pairs = zip(classify(z, bins, counts), classify(-z, -bins, counts), strict=True)
    for row, (a, b) in zip(bins, pairs, strict=True):
        head, _, tail = a.code.rpartition("_")
        assert b.code == (a.code if a.code == "no_pattern" else f"{head}_{swap[tail]}")
        assert b.label_params["n"] == a.label_params["n"]
        if row[-1] > 0:
            assert a.hot is True and b.hot is False  # a current hotspot is never hidden


# --- labels ---------------------------------------------------------------------------------------------


def test_unit_goes_into_the_label():
    assert one(*series("new"), unit="week").label == "new this week"
    assert one(*series("intensifying"), unit="week").label == "getting worse for 11 weeks"
    assert one(*series("intensifying"), unit="week").label_params["unit"] == "week"
    with pytest.raises(ValueError, match="unit"):
        one(*series("new"), unit="fortnight")


def test_small_numbers_warning():
    z, bins = series("consecutive")
    counts = np.array([[50] * 9 + [3, 3, 3]])  # 9 in the last three slices, however many before
    category = one(z, bins, counts)
    assert category.small_numbers is True
    assert category.label == "a hotspot for the last 4 months (few reports: treat with care)"
    assert (
        label(category, "nl")
        == "al 4 maanden op rij een hotspot (weinig meldingen: voorzichtig interpreteren)"
    )
    assert one(z, bins, np.array([[0] * 9 + [3, 3, 4]])).small_numbers is False  # 10 is enough
    assert one(z, bins, np.array([[0] * 9 + [3, 3, 4]]), small_total=11).small_numbers is True
    assert one(z, bins, np.array([[0] * 10 + [5, 5]]), small_window=2).small_numbers is False
    assert (
        one(z[:, -1:], bins[:, -1:], np.array([[9]])).small_numbers is True
    )  # window longer than the series
    assert one(z, bins, np.array([[9] * 9 + [np.nan, 4, 5]])).small_numbers is True  # missing counts as none


def test_translations_cover_every_code_and_unit():
    seen = set()
    for pattern in PATTERNS:
        for sign in (1, -1):
            for unit in ("week", "month"):
                category = one(*series(pattern, sign), unit=unit, small_total=1e9)
                seen.add(category.code)
                english = label(category, "en")
                for lang in LANGS:
                    text = label(category, lang)
                    assert "{" not in text and text.endswith(")"), (lang, text)
                    # translated from the catalogue, not English shown for want of a translation
                    assert lang == "en" or text != english, (lang, text)
    none = Category("no_pattern", False, "", {"n": 0, "unit": "month"}, True)
    for lang in LANGS:
        assert lang == "en" or label(none, lang) != label(none, "en"), lang
    assert seen | {"no_pattern"} == set(CODES)


@pytest.mark.parametrize(
    ("lang", "unit", "expected"),
    [
        ("en", "month", "getting worse for 11 months"),
        ("nl", "month", "wordt al 11 maanden erger"),
        ("fr", "week", "s'aggrave depuis 11 semaines"),
        ("pl", "month", "pogarsza się od 11 miesięcy"),
        ("fi", "month", "pahentunut 11 kuukauden ajan"),
        ("es", "month", "empeora desde hace 11 meses"),
        ("pt", "month", "em agravamento há 11 meses"),
    ],
)
def test_label_in_other_languages(lang, unit, expected):
    assert label(one(*series("intensifying"), unit=unit), lang) == expected


def test_label_numbers_agree_with_their_noun():
    two = one(*series("consecutive"))
    two = Category(two.code, two.hot, two.label, {**two.label_params, "n": 1}, False)
    assert label(two, "en") == "a hotspot for the last 1 month"
    assert label(two, "pl") == "punkt zapalny od 1 miesiąca"
    assert label(two, "fr") == "point chaud depuis 1 mois"
    assert label(one(*series("new")), "fr") == "nouveau point chaud ce mois-ci"
    with pytest.raises(ValueError, match="language"):
        label(two, "de")


# --- shapes, dtypes, speed ------------------------------------------------------------------------------


def test_input_checks():
    z = np.zeros((2, 4))
    bins = np.zeros((2, 4), dtype=int)
    counts = np.zeros((2, 4))
    with pytest.raises(ValueError, match="one shape"):
        classify(z, bins[:, :3], counts)
    with pytest.raises(ValueError, match="n_cells, n_slices"):
        classify(z[0], bins[0], counts[0])
    with pytest.raises(ValueError, match="-3..3"):
        classify(z, bins + 4, counts)
    with pytest.raises(ValueError, match="whole numbers"):
        classify(z, bins + 0.5, counts)
    with pytest.raises(ValueError, match="at least one"):
        classify(z[:, :0], bins[:, :0], counts[:, :0])
    with pytest.raises(ValueError, match="min_confidence"):
        classify(z, bins, counts, min_confidence=0)
    with pytest.raises(ValueError, match="alpha"):
        classify(z, bins, counts, alpha=1.5)
    assert classify(np.zeros((0, 4)), np.zeros((0, 4), dtype=int), np.zeros((0, 4))) == []
    # Whole-number floats are accepted as bins, and NaN z (no Gi* for a slice) is left out of the trend.
    z_nan = np.array([[np.nan, 2.0, 2.0, 2.0]])
    assert one(z_nan, np.array([[0.0, 2.0, 2.0, 2.0]])).code == "consecutive_hot"


def test_many_cells_at_once():
    rng = np.random.default_rng(7)
    n_cells, n_slices = 3000, 60
    bins = rng.choice([-2, 0, 0, 0, 2], size=(n_cells, n_slices))
    z = bins * 1.5 + rng.normal(0, 0.3, size=bins.shape)
    counts = rng.poisson(4, size=bins.shape)
    out = classify(z, bins, counts)  # speed is measured in bench/hotspots.py, not asserted here
    assert len(out) == n_cells and all(c.code in CODES for c in out)
