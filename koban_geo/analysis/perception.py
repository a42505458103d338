"""Perception against recorded crime: where residents' concerns and police.uk crime tell different stories.

Per area and theme family (police.uk categories map to themes through data/policeuk_themes.csv, themes to
families through the themes table; the 'sensitive' family is left out), `perception_vs_crime` counts
concerns and recorded crimes, turns them into rates and shares, and flags each row:

concern_without_crime  the area has clearly more concerns than its recorded crime would lead one to expect
                       at the city's mix of concerns and crime for that family: possible under-reporting to
                       the police, fear of crime, or a nuisance that is not a crime.
crime_without_concern  clearly more recorded crime than concerns, at the city's mix: a problem residents do
                       not (or cannot) report to us, or crime that does not worry them (e.g. shoplifting).
both                   concerns and crime in the city's proportions, and together clearly more than the
                       area's share of the city (by population, else by land area) suggests: both agree.
neither                none of the above.
too_few                too little to tell: fewer than `min_expected` concerns or crimes expected (see below).

The rule, in plain words. For one family, let C and K be the city's concerns and crimes (summed over the
areas) and p = C / (C + K) the share of concerns in the city's mix. An area with c concerns and k crimes
has n = c + k events; if it followed the city's mix, c would be a binomial draw from n with probability p
(this is the exact conditional test for comparing two Poisson rates). It is "too_few" when n·p or n·(1 − p)
is under `min_expected` (or the city has no concerns or no crime of that family); otherwise
"concern_without_crime" when P(X ≥ c) < alpha, "crime_without_concern" when P(X ≤ c) < alpha. The rest are
"both" when n is improbably high for a Poisson count with mean (C + K) · the area's share of the city's
population (when every area has a population figure; else of its land area), P(Y ≥ n) < alpha, else
"neither". alpha defaults to 0.01 per row, not corrected for the many rows: with 100 rows about one
flag can be chance, so read the p-values in the table. The `reason` column says all this per row.

Rates are per 1,000 residents when area_stats holds a 'population' figure for the area (its latest
period), otherwise per km² of the area; `rate_unit` says which.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd

from koban_geo.analysis.kde import CountUnit
from koban_geo.store.crs import store_crs, stored_crs
from koban_geo.store.sql import query

FLAGS = ("concern_without_crime", "crime_without_concern", "both", "neither", "too_few")
COLUMNS = [
    "area_code",
    "area_name",
    "family",
    "concerns",
    "crime",
    "population",
    "area_km2",
    "rate_unit",
    "concern_rate",
    "crime_rate",
    "concern_share",
    "crime_share",
    "expected_concerns",
    "p_concern_excess",
    "p_crime_excess",
    "p_total_excess",
    "flag",
    "reason",
]


def _metric_crs(con: duckdb.DuckDBPyConnection) -> str | None:
    """The store's metric CRS, else the one for the areas' centre; None with neither (no areas)."""
    if stored_crs(con) is None:
        row = query(con, "perception_centre").fetchone()
        if not row or row[0] is None:
            return None
        return store_crs(con, (row[0], row[1]))
    return store_crs(con)


def perception_vs_crime(
    con: duckdb.DuckDBPyConnection,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    min_expected: float = 5,
    *,
    alpha: float = 0.01,
    count_unit: CountUnit = "groups",
) -> pd.DataFrame:
    """Concerns against recorded crime per area × theme family, with a flag and its reason (module docstring).

    since inclusive, until exclusive (None = open); a police.uk month counts when it overlaps the window.
    One row per area and non-sensitive family, ordered by area code and family; columns `COLUMNS`.
    """
    if count_unit not in ("reports", "groups"):
        raise ValueError(f"count_unit must be 'reports' or 'groups', not {count_unit!r}")
    crs = _metric_crs(con)
    if crs is None:  # no areas
        return pd.DataFrame(columns=COLUMNS)
    params = {"since": since, "until": until, "crs": crs, "groups": count_unit == "groups"}
    df = query(con, "perception_counts", params).df()
    if df.empty:
        return pd.DataFrame(columns=COLUMNS)
    return _assess(df, min_expected=min_expected, alpha=alpha)


def _assess(df: pd.DataFrame, *, min_expected: float, alpha: float) -> pd.DataFrame:
    from scipy.stats import binom, poisson

    df = df.copy()
    c = df["concerns"].to_numpy(dtype=np.int64)
    k = df["crime"].to_numpy(dtype=np.int64)
    n = c + k
    population = df["population"].to_numpy(dtype=float)
    km2 = df["area_km2"].to_numpy(dtype=float)
    has_pop = np.isfinite(population) & (population > 0)

    df["rate_unit"] = np.where(has_pop, "per 1,000 residents", "per km²")
    per = np.where(has_pop, population / 1000.0, km2)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["concern_rate"] = np.where(per > 0, c / per, np.nan)
        df["crime_rate"] = np.where(per > 0, k / per, np.nan)

    family = df["family"]
    city_c = df.groupby("family")["concerns"].transform("sum").to_numpy(dtype=float)
    city_k = df["crime"].groupby(family).transform("sum").to_numpy(dtype=float)
    # Exposure: the area's share of the city's residents when every area has a figure, else of its land.
    areas = df.drop_duplicates("area_code")
    by_pop = bool(np.all(np.isfinite(areas["population"]) & (areas["population"] > 0)))
    exposure = df["population"] if by_pop else df["area_km2"]
    exposure_share = (exposure / float(areas["population" if by_pop else "area_km2"].sum())).to_numpy(float)
    basis = "population" if by_pop else "land area"

    with np.errstate(divide="ignore", invalid="ignore"):
        df["concern_share"] = np.where(city_c > 0, c / city_c, np.nan)
        df["crime_share"] = np.where(city_k > 0, k / city_k, np.nan)
        p = np.where(city_c + city_k > 0, city_c / (city_c + city_k), np.nan)
    expected_c = n * p
    expected_k = n * (1 - p)
    df["expected_concerns"] = expected_c
    testable = (city_c > 0) & (city_k > 0) & (expected_c >= min_expected) & (expected_k >= min_expected)
    safe_p = np.where(testable, p, 0.5)
    p_more = np.where(testable, binom.sf(c - 1, n, safe_p), np.nan)  # P(X >= c)
    p_fewer = np.where(testable, binom.cdf(c, n, safe_p), np.nan)  # P(X <= c)
    expected_total = (city_c + city_k) * exposure_share
    p_total = np.where(testable & (expected_total > 0), poisson.sf(n - 1, expected_total), np.nan)
    df["p_concern_excess"] = p_more
    df["p_crime_excess"] = p_fewer
    df["p_total_excess"] = p_total

    flags: list[str] = []
    reasons: list[str] = []
    for i in range(len(df)):
        ci, ki = int(c[i]), int(k[i])
        counts = f"{ci} concern{'s' * (ci != 1)} and {ki} recorded crime{'s' * (ki != 1)}"
        if city_k[i] == 0 and city_c[i] == 0:
            flags.append("too_few")
            reasons.append(
                "no concerns and no recorded crime of this family anywhere in the city in the window"
            )
        elif city_k[i] == 0:
            flags.append("too_few")
            reasons.append(
                f"{counts}; no recorded crime of this family anywhere in the city in the window "
                "(police.uk may have no category for it), so nothing to compare with"
            )
        elif city_c[i] == 0:
            flags.append("too_few")
            reasons.append(f"{counts}; no concerns of this family anywhere in the city in the window")
        elif not testable[i]:
            flags.append("too_few")
            reasons.append(
                f"{counts}: too few to tell; at the city's mix ({_ratio(p[i])}) about "
                f"{expected_c[i]:.1f} concerns and {expected_k[i]:.1f} crimes are expected here, and the "
                f"test needs at least {min_expected:g} of each"
            )
        elif p_more[i] < alpha:
            flags.append("concern_without_crime")
            reasons.append(
                f"{counts}: at the city's mix ({_ratio(p[i])}) about {expected_c[i]:.1f} concerns were "
                f"expected; this many or more by chance: p = {p_more[i]:.2g} (< {alpha:g})"
            )
        elif p_fewer[i] < alpha:
            flags.append("crime_without_concern")
            reasons.append(
                f"{counts}: at the city's mix ({_ratio(p[i])}) about {expected_c[i]:.1f} concerns were "
                f"expected; this few or fewer by chance: p = {p_fewer[i]:.2g} (< {alpha:g})"
            )
        elif p_total[i] < alpha:
            flags.append("both")
            reasons.append(
                f"{counts}, in the city's proportions ({_ratio(p[i])}); together {ci + ki} against about "
                f"{expected_total[i]:.1f} for the area's share of the city's {basis}: "
                f"p = {p_total[i]:.2g} (< {alpha:g})"
            )
        else:
            flags.append("neither")
            reasons.append(
                f"{counts}, in the city's proportions ({_ratio(p[i])}; about {expected_c[i]:.1f} concerns "
                f"expected) and not clearly more than the area's share of the city's {basis} "
                f"(about {expected_total[i]:.1f} events)"
            )
    df["flag"] = flags
    df["reason"] = reasons
    return df[COLUMNS].reset_index(drop=True)


def _ratio(p: float) -> str:
    """The city's mix in words: concerns per recorded crime."""
    return f"{p / (1 - p):.2f} concerns per recorded crime" if p < 1 else "no recorded crime"
