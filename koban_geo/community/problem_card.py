"""A problem card as each audience sees it: scanning figures, open-data context, the assessment, and the
card's properties (see the table in koban_geo.community.problems). Reads only; writes live in problems.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import shapely

from koban_geo.analysis.assessment import MIN_REPORTS, Assessment, assessment_figures
from koban_geo.analysis.emerging import mann_kendall
from koban_geo.community.problems import (
    CONCERN_KEYS_LIMIT,
    Action,
    Problem,
    area_place,
    get_problem,
    metric_crs,
    polygonal,
)
from koban_geo.privacy.audience import Audience, Policy, release
from koban_geo.privacy.scrub import scrub_text
from koban_geo.store.settings import Settings
from koban_geo.store.sql import query
from koban_geo.store.taxonomy import sensitive_codes

# ---------------------------------------------------------------------------------------------------------
# Scanning and analysis
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Scan:
    """Concerns of the card's themes inside its place, per calendar month (zeros included)."""

    themes: tuple[str, ...]  # the themes counted (for public tiers, the sensitive ones are left out)
    months: pd.DataFrame  # month (first day), count (Int64; None where hidden), suppressed
    total: int | None  # None when hidden
    trend: str  # one of TRENDS
    trend_p: float | None
    # officer tiers: the concerns inside the place (source, id, reported_at, theme)
    concerns: list[dict[str, Any]] = field(default_factory=list)


def _themes_for(problem: Problem, policy: Policy) -> tuple[str, ...]:
    return tuple(policy.allowed_themes(problem.themes))


def _span(con: duckdb.DuckDBPyConnection) -> tuple[datetime | None, datetime | None]:
    row = query(con, "problem_span").fetchone()
    return (row[0], row[1]) if row else (None, None)


def scan(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    problem: Problem,
    *,
    audience: Audience | str = Audience.OFFICER,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Scan:
    """Scanning figures for one audience; the months run from `since` (else the store's first report) to
    `until` (exclusive; else the newest report), so a quiet month counts as a zero in the trend."""
    policy = Policy.for_audience(audience, settings)
    themes = _themes_for(problem, policy)
    wkb = shapely.to_wkb(problem.place)
    params = {"wkb": wkb, "themes": list(themes), "since": since, "until": until,
              "groups": settings.count_unit == "groups"}  # fmt: skip
    raw = (
        query(con, "problem_counts_month", params).df()
        if themes
        else pd.DataFrame({"month": [], "n": [], "ckey": []})
    )
    first, newest = _span(con)
    months = _month_range(since or first, until, newest)
    series = pd.Series(0, index=months, dtype="int64")
    keys = pd.Series(0, index=months, dtype="int64")  # each month's cell key (koban_geo.privacy.cellkey)
    for month, n, key in zip(pd.to_datetime(raw["month"]), raw["n"], raw["ckey"], strict=True):
        if month in series.index:
            series[month], keys[month] = int(n), int(key)
    frame = pd.DataFrame({"month": [m.date() for m in series.index], "count": series.to_numpy(dtype="int64"),
                          "ckey": keys.to_numpy(dtype="int64")})  # fmt: skip
    trend, trend_p = _trend(frame["count"].to_numpy())
    released = release(frame, policy.audience, settings, theme=None, themes_counted=themes)
    released.frame = released.frame.drop(columns=["ckey"], errors="ignore")
    total_frame = released.totals.get("all")
    total: int | None = int(frame["count"].sum())
    if policy.audience.aggregates_only and total_frame is not None:
        value = total_frame["count"].iloc[0]
        total = None if pd.isna(value) else int(value)
    if policy.audience.aggregates_only and total is None:
        trend, trend_p = "too_few", None  # a trend over a hidden total would still describe it
    out = Scan(themes=themes, months=released.frame, total=total, trend=trend, trend_p=trend_p)
    if not policy.audience.aggregates_only and themes:
        rows = query(con, "problem_concerns", {**{k: params[k] for k in ("wkb", "themes", "since", "until")},
                                               "limit": CONCERN_KEYS_LIMIT}).fetchall()  # fmt: skip
        out.concerns = [{"source": r[0], "id": r[1], "reported_at": r[2], "theme": r[3]} for r in rows]
    return out


def _month_range(start: datetime | None, until: datetime | None, newest: datetime | None) -> pd.DatetimeIndex:
    if start is None:
        return pd.DatetimeIndex([])
    last = (pd.Timestamp(until) - pd.Timedelta(microseconds=1)) if until is not None else pd.Timestamp(newest)
    if pd.isna(last) or last < pd.Timestamp(start):
        return pd.DatetimeIndex([])
    return pd.period_range(pd.Timestamp(start).to_period("M"), last.to_period("M"), freq="M").to_timestamp()


def _trend(series: np.ndarray) -> tuple[str, float | None]:
    """Mann-Kendall on the monthly counts; fewer than 4 months or 10 reports are too few to call a trend."""
    if len(series) < 4 or series.sum() < 10:
        return "too_few", None
    result = mann_kendall(series.astype(float))
    return result.trend, result.p


@dataclass
class Context:
    """Open data inside the place: recorded crime per type (police.uk) and features per layer."""

    crime: list[dict[str, Any]]  # crime_type, theme, count
    layers: dict[str, int]  # layer -> features inside or touching the place


def context(
    con: duckdb.DuckDBPyConnection,
    problem: Problem,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Context:
    """Recorded crime and open-data layers inside the card's place (officer analysis)."""
    wkb = shapely.to_wkb(problem.place)
    crime = query(con, "problem_crime", {"wkb": wkb, "since": since, "until": until}).fetchall()
    layers = query(con, "problem_layers", {"wkb": wkb}).fetchall()
    return Context(
        crime=[{"crime_type": c, "theme": t, "count": int(n)} for c, t, n in crime],
        layers={str(name): int(n) for name, n in layers},
    )


# ---------------------------------------------------------------------------------------------------------
# Assessment
# ---------------------------------------------------------------------------------------------------------


def comparison_place(con: duckdb.DuckDBPyConnection, problem: Problem) -> shapely.Geometry | None:
    """The comparison place of a card's plan: the other area minus the place, or the ring around it."""
    if problem.comparison_area:
        _name, geom = area_place(con, problem.comparison_area)
        return polygonal(geom.difference(problem.place))
    if problem.comparison_buffer_m:
        row = query(con, "problem_ring", {"wkb": shapely.to_wkb(problem.place),
                                          "crs": metric_crs(con, problem.place),
                                          "buffer_m": float(problem.comparison_buffer_m)}).fetchone()  # fmt: skip
        return shapely.from_wkb(bytes(row[0])) if row and row[0] is not None else None
    return None


def assess(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    problem: Problem,
    *,
    audience: Audience | str = Audience.OFFICER,
    min_reports: int = MIN_REPORTS,
) -> Assessment | None:
    """The card's assessment for one audience, None before a plan is set (`set_plan`).

    Public tiers: sensitive themes are not counted; the four counts pass `release` as a 2 x 2 table (per
    place group), a percentage is shown only when both its counts are, the effect only when all four are;
    the public tier gets no figures at all, only the plan and the verdict (which states no number).
    """
    if problem.response_start is None or problem.period_days is None:
        return None
    comparison = comparison_place(con, problem)
    if comparison is None or comparison.is_empty:
        return None
    policy = Policy.for_audience(audience, settings)
    themes = _themes_for(problem, policy)
    t1 = datetime.combine(problem.response_start, datetime.min.time())
    t0, t2 = t1 - timedelta(days=problem.period_days), t1 + timedelta(days=problem.period_days)
    counts = (0, 0, 0, 0)
    keys = (0, 0, 0, 0)
    newest = None
    if themes:
        row = query(con, "problem_periods", {"place": shapely.to_wkb(problem.place),
                                             "comparison": shapely.to_wkb(comparison), "themes": list(themes),
                                             "t0": t0, "t1": t1, "t2": t2,
                                             "groups": settings.count_unit == "groups"}).fetchone()  # fmt: skip
        assert row is not None
        counts, newest = (int(row[0]), int(row[1]), int(row[2]), int(row[3])), row[4]
        keys = (int(row[5]), int(row[6]), int(row[7]), int(row[8]))
    figures = assessment_figures(*counts, min_reports=min_reports)
    warnings = []
    if newest is None or newest < t2:
        warnings.append("the after period is not over yet in the data: the figures will change")
    if figures.small_numbers:
        warnings.append("small numbers: a few reports more or less could change this verdict")
    plan: dict[str, Any] = {"response_start": problem.response_start, "period_days": problem.period_days,
            "comparison": problem.comparison, "before": (t0.date(), t1.date()), "after": (t1.date(), t2.date()),
            "warnings": tuple(warnings)}  # fmt: skip
    if not policy.audience.aggregates_only:
        return Assessment(**{**figures.__dict__, **plan})
    if policy.audience == Audience.PUBLIC:
        return Assessment(None, None, None, None, None, None, None, None, None, figures.verdict_code,
                          figures.verdict, figures.small_numbers, **plan)  # fmt: skip
    table = pd.DataFrame({"place": ["problem", "problem", "comparison", "comparison"],
                          "period": ["before", "after", "before", "after"], "count": list(counts),
                          "ckey": list(keys)})  # fmt: skip
    shown = release(table, policy.audience, settings, groups=("place",), theme=None, themes_counted=themes)
    verdict = figures
    a, b, c, d = (None if pd.isna(v) else int(v) for v in shown.frame["count"])
    both_p, both_c = a is not None and b is not None, c is not None and d is not None
    # the percentages shown beside perturbed counts come from them: from the true counts they would undo the noise
    figures = assessment_figures(a or 0, b or 0, c or 0, d or 0, min_reports=min_reports)
    return Assessment(
        place_before=a, place_after=b, comparison_before=c, comparison_after=d,
        change_pct=figures.change_pct if both_p else None,
        comparison_change_pct=figures.comparison_change_pct if both_c else None,
        relative_effect=figures.relative_effect if both_p and both_c else None,
        effect_low=None, effect_high=None,
        verdict_code=verdict.verdict_code, verdict=verdict.verdict, small_numbers=verdict.small_numbers, **plan,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# The card, per audience
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Card:
    """What one audience may see of a problem card: the place (EPSG:4326) and nested properties."""

    place: shapely.Geometry
    properties: dict[str, Any]


def card(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    problem: Problem | int,
    *,
    audience: Audience | str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Card | None:
    """The card as `audience` may see it (table in the module docstring); None when a public tier may not
    see it at all (every theme of the card is sensitive)."""
    problem = problem if isinstance(problem, Problem) else get_problem(con, problem)
    policy = Policy.for_audience(audience, settings)
    themes = _themes_for(problem, policy)
    if not themes:
        return None
    officer = not policy.audience.aggregates_only
    props: dict[str, Any] = {
        "problem_id": problem.id,
        "title": scrub_text(problem.title),
        "status": problem.status,
        "area_code": problem.area_code,
        "themes": list(themes),
    }
    if officer:
        sensitive = sensitive_codes()
        props["sensitive_themes"] = [t for t in themes if t in sensitive]
        props |= {"origin": problem.origin, "origin_ref": problem.origin_ref, "created_by": problem.created_by,
                  "created_at": problem.created_at, "updated_at": problem.updated_at}  # fmt: skip
    if policy.audience != Audience.PUBLIC:
        scanned = scan(con, settings, problem, audience=policy.audience, since=since, until=until)
        months = [{"month": m.isoformat()[:7], "count": _int(n)}
                  for m, n in zip(scanned.months["month"], scanned.months["count"], strict=True)]  # fmt: skip
        props["scanning"] = {"months": months, "total": scanned.total, "trend": scanned.trend}
        if officer:
            props["scanning"] |= {"trend_p": scanned.trend_p, "concerns": scanned.concerns}
    if officer:
        ctx = context(con, problem, since=since, until=until)
        props["analysis"] = {
            "triangle": {"place": _scrubbed(problem.triangle_place), "victim": _scrubbed(problem.triangle_victim),
                         "offender": _scrubbed(problem.triangle_offender)},
            "notes": _scrubbed(problem.notes),
            "crime": ctx.crime,
            "layers": ctx.layers,
        }  # fmt: skip
    props["actions"] = [_action_props(a, policy.audience) for a in problem.actions]
    assessed = assess(con, settings, problem, audience=policy.audience)
    props["assessment"] = _assessment_props(assessed, policy.audience) if assessed else None
    return Card(place=problem.place, properties=props)


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _scrubbed(text: str | None) -> str | None:
    return scrub_text(text) if text else text


def _action_props(action: Action, audience: Audience) -> dict[str, Any]:
    props: dict[str, Any] = {"description": scrub_text(action.description), "owner_org": action.owner_org,
                             "due": action.due.isoformat() if action.due else None, "status": action.status}  # fmt: skip
    if not audience.aggregates_only:
        props = {"id": action.id, **props}
    return props


def _assessment_props(assessed: Assessment, audience: Audience) -> dict[str, Any]:
    out: dict[str, Any] = {
        "response_start": assessed.response_start.isoformat() if assessed.response_start else None,
        "period_days": assessed.period_days,
        "comparison": assessed.comparison,
        "verdict_code": assessed.verdict_code,
        "verdict": assessed.verdict,
        "small_numbers": assessed.small_numbers,
    }
    if audience == Audience.PUBLIC:
        return out
    out |= {k: getattr(assessed, k) for k in ("place_before", "place_after", "comparison_before",
                                              "comparison_after", "change_pct", "comparison_change_pct",
                                              "relative_effect")}  # fmt: skip
    if not audience.aggregates_only:
        out |= {"effect_low": assessed.effect_low, "effect_high": assessed.effect_high,
                "before": [d.isoformat() for d in assessed.before] if assessed.before else None,
                "after": [d.isoformat() for d in assessed.after] if assessed.after else None,
                "warnings": list(assessed.warnings)}  # fmt: skip
    return out
