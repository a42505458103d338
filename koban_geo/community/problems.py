"""Problem cards worked through SARA: scanning, analysis, response, assessment, then closed.

A card is made from an agreed priority (a meeting candidate), a hotspot (a set of grid cells, or a polygon
drawn on the map) or an area and themes. Its place is a (Multi)Polygon in EPSG:4326 of at least one snapping
cell (a smaller place would point at a house). Counts are never stored: `card` computes them from the
concerns each time, so moderation, redaction and retention purges apply at once.

    Scanning    the place, themes, concerns per month and their Mann-Kendall trend; officers also get the
                keys (source, id) of the concerns inside the place.
    Analysis    the problem-analysis triangle (place, victim/target, offender/behaviour) and notes, all
                scrubbed before they are stored; recorded crime per type and open-data features per layer
                inside the place.
    Response    actions: description, owner organisation, due date, status (planned, in_progress, done,
                dropped).
    Assessment  equal periods before and after the response start, in the place and in a comparison place
                (another area minus the place, or a ring around it): figures and verdict in
                koban_geo.analysis.assessment.

Status moves one step forward (guarded: a response needs an action, an assessment a plan), or back to any
earlier stage (SARA loops: an assessment often sends the work back to analysis or response). Every change
is one transaction with its audit_log row: who, what, which card; never the text itself.

What each audience gets from `card` (exports and screens use it; everything passes koban_geo.privacy.audience):

| part        | public                              | council                                | officer / analyst      |
|-------------|-------------------------------------|----------------------------------------|------------------------|
| card        | id, title, status, area, themes     | as public                              | + origin, who, when    |
| themes      | sensitive ones removed; a card of   | as public                              | all, sensitive flagged |
|             | sensitive themes only is withheld   |                                        |                        |
| scanning    | none                                | monthly counts, total (k-suppressed);  | all counts, trend,     |
|             |                                     | trend only when the total is shown     | concern keys           |
| analysis    | none                                | none                                   | triangle, notes, crime |
|             |                                     |                                        | and layer counts       |
| actions     | description, owner org, due, status | as public                              | + ids                  |
| assessment  | plan and verdict (no numbers)       | + counts (k-suppressed), change % when | every figure, with the |
|             |                                     | both counts are shown, effect when all | effect's 95 % interval |

Titles and action descriptions are written for publication (they are read out at meetings), scrubbed when
stored and again when shown. Triangle and notes are working notes: they never leave the officer tier.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import shapely
import shapely.errors
import shapely.geometry

from koban_geo.analysis.assessment import MIN_REPORTS, Assessment, assessment_figures
from koban_geo.analysis.emerging import mann_kendall
from koban_geo.privacy.audience import Audience, Policy, release
from koban_geo.privacy.scrub import scrub_text
from koban_geo.store.crs import checked_crs, metric_crs_for
from koban_geo.store.settings import Settings
from koban_geo.store.sql import audit, meta_get, query, writing
from koban_geo.store.taxonomy import sensitive_codes, theme_codes

STATUSES: tuple[str, ...] = ("scanning", "analysis", "response", "assessment", "closed")
ACTION_STATUSES: tuple[str, ...] = ("planned", "in_progress", "done", "dropped")
ORIGINS: tuple[str, ...] = ("candidate", "cells", "polygon", "area")
TRENDS: tuple[str, ...] = ("up", "down", "none", "too_few")

MAX_TEXT = 2_000  # characters of one text field (a card is a summary, not a case file)
MAX_TITLE = 200
CONCERN_KEYS_LIMIT = 500  # concern keys listed on an officer's card


class ProblemError(ValueError):
    """A problem card cannot be made or changed as asked; the message says why in one sentence."""


@dataclass(frozen=True)
class Action:
    id: int
    problem_id: int
    description: str
    owner_org: str
    due: date | None
    status: str


@dataclass(frozen=True)
class Problem:
    id: int
    title: str
    status: str
    origin: str
    origin_ref: str | None
    place: shapely.Geometry  # (Multi)Polygon, EPSG:4326
    themes: tuple[str, ...]
    area_code: str | None
    triangle_place: str | None
    triangle_victim: str | None
    triangle_offender: str | None
    notes: str | None
    response_start: date | None
    period_days: int | None
    comparison_area: str | None
    comparison_buffer_m: float | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    actions: tuple[Action, ...] = ()

    @property
    def comparison(self) -> str | None:
        """The comparison place in words ('area HEL-112', 'ring 200 m'), None before a plan is set."""
        if self.comparison_area:
            return f"area {self.comparison_area}"
        if self.comparison_buffer_m:
            return f"ring {self.comparison_buffer_m:g} m"
        return None


# ---------------------------------------------------------------------------------------------------------
# Places
# ---------------------------------------------------------------------------------------------------------


def _metric_crs(con: duckdb.DuckDBPyConnection, geom: shapely.Geometry) -> str:
    stored = meta_get(con, "metric_crs")
    if stored:
        return checked_crs(stored)
    centre = geom.centroid
    return metric_crs_for(centre.x, centre.y)


def _as_geometry(place: Any) -> shapely.Geometry:
    """A shapely geometry from a shapely object, WKT, a GeoJSON geometry or Feature (dict or text)."""
    if isinstance(place, shapely.Geometry):
        return place
    try:
        if isinstance(place, str):
            text = place.strip()
            return shapely.from_geojson(text) if text.startswith("{") else shapely.from_wkt(text)
        if isinstance(place, Mapping):
            doc = place.get("geometry", place) if place.get("type") == "Feature" else place
            return shapely.geometry.shape(doc)
    except (shapely.errors.GEOSException, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProblemError(f"the place is not a readable geometry: {exc}") from exc
    raise ProblemError(f"the place must be a polygon (shapely, WKT or GeoJSON), not {type(place).__name__}")


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry, made valid; empty if it has none."""
    geom = shapely.make_valid(geom) if not geom.is_valid else geom
    if isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, (shapely.Polygon, shapely.MultiPolygon))]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def checked_place(con: duckdb.DuckDBPyConnection, settings: Settings, place: Any) -> shapely.Geometry:
    """The place of a card: polygons in lon/lat covering at least one snapping cell (`settings.grid_m`²)."""
    from pyproj import Transformer

    geom = _polygonal(_as_geometry(place))
    if geom.is_empty:
        raise ProblemError("the place of a problem must be a polygon (points and lines point at a house)")
    west, south, east, north = geom.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ProblemError("the place must be in longitude/latitude (EPSG:4326)")
    transformer = Transformer.from_crs("EPSG:4326", _metric_crs(con, geom), always_xy=True)
    area_m2 = shapely.transform(geom, transformer.transform, interleaved=False).area
    if area_m2 < settings.grid_m**2 * 0.99:
        raise ProblemError(
            f"the place covers {area_m2:.0f} m², less than one {settings.grid_m} m grid cell: draw it larger"
        )
    return geom


def _area(con: duckdb.DuckDBPyConnection, code: str) -> tuple[str, shapely.Geometry]:
    row = query(con, "problem_area", {"code": code}).fetchone()
    if not row:
        raise ProblemError(f"no area with code {code!r}")
    return str(row[1]), shapely.from_wkb(bytes(row[2]))


def _area_of(con: duckdb.DuckDBPyConnection, geom: shapely.Geometry) -> str | None:
    centre = geom.representative_point()
    row = query(con, "problem_area_of", {"lon": centre.x, "lat": centre.y}).fetchone()
    return str(row[0]) if row else None


def _checked_themes(themes: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(t.strip() for t in themes if t and t.strip()))
    if not chosen:
        raise ProblemError("a problem needs at least one theme")
    unknown = sorted(set(chosen) - set(theme_codes()))
    if unknown:
        raise ProblemError(f"unknown theme code(s): {', '.join(unknown)}")
    return chosen


def _text(value: str | None, what: str, limit: int = MAX_TEXT) -> str | None:
    """Scrubbed, trimmed text (None when empty); too long is refused rather than cut."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise ProblemError(f"the {what} is {len(text)} characters long; at most {limit}")
    return scrub_text(text)


# ---------------------------------------------------------------------------------------------------------
# Writing (each change one transaction with its audit row)
# ---------------------------------------------------------------------------------------------------------


def _audit(cur: duckdb.DuckDBPyConnection, actor: str, what: str, problem_id: int, **detail: Any) -> None:
    audit(cur, actor, f"problem.{what}", json.dumps({"problem": problem_id, **detail}, default=str))


def _actor(actor: str) -> str:
    if not actor or not actor.strip():
        raise ProblemError("every change to a problem card names who made it (actor)")
    return actor.strip()


def create_problem(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    actor: str,
    title: str | None = None,
    themes: Iterable[str] | None = None,
    place: Any = None,
    cells: Iterable[Any] | None = None,
    area: str | None = None,
    candidate: tuple[int, str] | str | None = None,
) -> int:
    """A new card in status 'scanning' from exactly one of: a polygon (`place`), hotspot `cells` (their union),
    an `area` code (its polygon), or a meeting `candidate` ((meeting id, key) or 'MEETING:KEY'; its place,
    themes and label unless given). Returns the card's id.

    >>> pid = create_problem(con, settings, actor="pc-1", title="Dealing by the metro", themes=["drugs"],
    ...                      area="HEL-112")  # doctest: +SKIP
    """
    actor = _actor(actor)
    given = [name for name, value in (("place", place), ("cells", cells), ("area", area),
                                      ("candidate", candidate)) if value is not None]  # fmt: skip
    if len(given) != 1:
        raise ProblemError("give exactly one of place, cells, area or candidate")
    origin_ref: str | None = None
    if candidate is not None:
        geom, candidate_themes, candidate_title, origin_ref = _from_candidate(con, candidate)
        origin = "candidate"
        themes = themes or candidate_themes
        title = title or candidate_title
    elif cells is not None:
        geoms = [_as_geometry(c) for c in cells]
        if not geoms:
            raise ProblemError("no cells given")
        geom, origin = shapely.union_all(geoms), "cells"
    elif area is not None:
        _name, geom = _area(con, area)
        origin, origin_ref = "area", area
    else:
        geom, origin = _as_geometry(place), "polygon"
    geom = checked_place(con, settings, geom)
    chosen = _checked_themes(themes or ())
    clean_title = _text(title, "title", MAX_TITLE)
    if not clean_title:
        raise ProblemError("a problem needs a title")
    area_code = area if area is not None else _area_of(con, geom)
    with writing(con) as cur:
        row = query(cur, "problem_insert", {"title": clean_title, "origin": origin, "origin_ref": origin_ref,
                                            "wkb": shapely.to_wkb(geom), "themes": list(chosen),
                                            "area_code": area_code, "actor": actor}).fetchone()  # fmt: skip
        assert row is not None
        problem_id = int(row[0])
        _audit(cur, actor, "create", problem_id, origin=origin, origin_ref=origin_ref, themes=list(chosen))
    return problem_id


def candidate_ref(candidate: tuple[int, str] | str) -> tuple[int, str]:
    """(meeting id, candidate key) from a pair or from 'MEETING:KEY' (e.g. '3:theme:noise')."""
    if isinstance(candidate, tuple):
        meeting_id, key = candidate
    else:
        meeting_text, _, key = str(candidate).partition(":")
        if not meeting_text.strip().isdigit() or not key:
            raise ProblemError(f"a candidate is named MEETING:KEY (e.g. 3:theme:noise), not {candidate!r}")
        meeting_id = int(meeting_text)
    return int(meeting_id), str(key)


def _from_candidate(
    con: duckdb.DuckDBPyConnection, candidate: tuple[int, str] | str
) -> tuple[shapely.Geometry, list[str], str, str]:
    """A meeting candidate's place, themes, title and reference: a hotspot's polygon, else the meeting's
    areas; a theme candidate's theme, a hotspot's every theme but the sensitive ones and 'other' (what the
    public hotspot counted), none for a hand-made item (the caller names them)."""
    from koban_geo.community.meetings import MeetingError, get_meeting

    meeting_id, key = candidate_ref(candidate)
    try:
        meeting = get_meeting(con, meeting_id)
    except MeetingError as exc:
        raise ProblemError(str(exc)) from exc
    found = meeting.candidate(key)
    if found is None:
        raise ProblemError(f"meeting {meeting_id} has no item {key!r}")
    if found.geometry is not None:
        geom = found.geometry
    else:
        geom = shapely.union_all([_area(con, code)[1] for code in meeting.areas])
    if found.kind == "theme":
        themes = [key.split(":", 1)[1]]
    elif found.kind == "hotspot":
        themes = [t for t in theme_codes() if t not in sensitive_codes() and t != "other"]
    else:
        themes = []
    return geom, themes, found.label("en"), f"{meeting_id}:{key}"


def get_problem(con: duckdb.DuckDBPyConnection, problem_id: int) -> Problem:
    """One card with its actions; ProblemError if there is none."""
    cur = query(con, "problem_get", {"id": int(problem_id)})
    row = cur.fetchone()
    if row is None:
        raise ProblemError(f"no problem card {problem_id}")
    names = [d[0] for d in cur.description]
    values = dict(zip(names, row, strict=True))
    values["place"] = shapely.from_wkb(bytes(values["place"]))
    values["themes"] = tuple(values["themes"] or ())
    return Problem(**values, actions=tuple(actions_of(con, [int(problem_id)]).get(int(problem_id), ())))


def actions_of(con: duckdb.DuckDBPyConnection, ids: Sequence[int]) -> dict[int, list[Action]]:
    """The actions of the given cards, per card id, in the order they were added."""
    out: dict[int, list[Action]] = {}
    for row in query(con, "problem_actions", {"ids": [int(i) for i in ids]}).fetchall():
        action = Action(id=row[0], problem_id=row[1], description=row[2], owner_org=row[3], due=row[4],
                        status=row[5])  # fmt: skip
        out.setdefault(action.problem_id, []).append(action)
    return out


def list_problems(con: duckdb.DuckDBPyConnection, statuses: Iterable[str] | None = None) -> pd.DataFrame:
    """The cards, newest first: id, title, status, origin, themes, area_code, response_start, created/updated."""
    wanted = list(statuses) if statuses is not None else None
    bad = sorted(set(wanted or ()) - set(STATUSES))
    if bad:
        raise ProblemError(f"unknown status(es): {', '.join(bad)}; statuses: {', '.join(STATUSES)}")
    return query(con, "problem_list", {"statuses": wanted}).df()


def allowed_moves(problem: Problem) -> tuple[str, ...]:
    """The statuses a card may move to: one step forward, or back to any earlier stage."""
    i = STATUSES.index(problem.status)
    return tuple(STATUSES[:i]) + ((STATUSES[i + 1],) if i + 1 < len(STATUSES) else ())


def set_status(
    con: duckdb.DuckDBPyConnection, problem_id: int, status: str, *, actor: str, reason: str | None = None
) -> None:
    """Move a card along SARA. Forward moves are guarded: 'response' needs at least one action, 'assessment'
    a plan (`set_plan`). `reason` is recorded in the audit log (scrubbed)."""
    actor = _actor(actor)
    if status not in STATUSES:
        raise ProblemError(f"unknown status {status!r}; statuses: {', '.join(STATUSES)}")
    clean_reason = _text(reason, "reason", 500)
    with writing(con) as cur:
        problem = get_problem(cur, problem_id)
        if status == problem.status:
            raise ProblemError(f"problem {problem_id} is already in {status}")
        if status not in allowed_moves(problem):
            raise ProblemError(
                f"problem {problem_id} cannot move from {problem.status} to {status}: one step forward "
                f"at a time ({' → '.join(STATUSES)}), or back to any earlier stage"
            )
        if status == "response" and not problem.actions:
            raise ProblemError(f"problem {problem_id} needs at least one action before the response stage")
        if status == "assessment" and (problem.response_start is None or problem.comparison is None):
            raise ProblemError(
                f"problem {problem_id} needs a response start date and a comparison place before assessment"
            )
        query(cur, "problem_set_status", {"id": problem.id, "status": status})
        _audit(cur, actor, "status", problem.id, **{"from": problem.status, "to": status},
               reason=clean_reason)  # fmt: skip


_KEEP: Any = object()


def set_analysis(
    con: duckdb.DuckDBPyConnection,
    problem_id: int,
    *,
    actor: str,
    place: str | None = _KEEP,
    victim: str | None = _KEEP,
    offender: str | None = _KEEP,
    notes: str | None = _KEEP,
) -> None:
    """The analysis triangle (place, victim/target, offender/behaviour) and notes, scrubbed before storing.
    A field left out is kept; None or "" clears it. The audit row names the fields, never their text."""
    actor = _actor(actor)
    given = {"triangle_place": place, "triangle_victim": victim, "triangle_offender": offender,
             "notes": notes}  # fmt: skip
    with writing(con) as cur:
        problem = get_problem(cur, problem_id)
        values = {name: getattr(problem, name) if value is _KEEP else _text(value, name.replace("_", " "))
                  for name, value in given.items()}  # fmt: skip
        query(cur, "problem_set_analysis", {"id": problem.id, **values})
        changed = sorted(name for name, value in given.items() if value is not _KEEP)
        _audit(cur, actor, "analysis", problem.id, fields=changed)


def set_plan(
    con: duckdb.DuckDBPyConnection,
    problem_id: int,
    *,
    actor: str,
    response_start: date | datetime | str,
    period_days: int = 91,
    comparison_area: str | None = None,
    buffer_m: float | None = None,
) -> None:
    """How the response will be assessed: equal periods of `period_days` before and after `response_start`,
    against another area (minus the problem's place) or a ring of `buffer_m` metres around the place."""
    actor = _actor(actor)
    start = _as_date(response_start)
    if not 7 <= int(period_days) <= 730:
        raise ProblemError("the assessment period must be 7 to 730 days")
    if (comparison_area is None) == (buffer_m is None):
        raise ProblemError(
            "choose one comparison: another area, or a ring (buffer in metres) around the place"
        )
    if buffer_m is not None and not 50 <= float(buffer_m) <= 5_000:
        raise ProblemError("the comparison ring must be 50 to 5,000 m wide")
    with writing(con) as cur:
        problem = get_problem(cur, problem_id)
        if comparison_area is not None:
            _area(cur, comparison_area)
            if comparison_area == problem.origin_ref and problem.origin == "area":
                raise ProblemError("the comparison area must be another area than the problem's own")
        query(cur, "problem_set_plan", {"id": problem.id, "response_start": start, "period_days": int(period_days),
                                        "area": comparison_area,
                                        "buffer_m": float(buffer_m) if buffer_m is not None else None})  # fmt: skip
        _audit(cur, actor, "plan", problem.id, response_start=start.isoformat(), period_days=int(period_days),
               comparison_area=comparison_area, buffer_m=buffer_m)  # fmt: skip


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise ProblemError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def add_action(
    con: duckdb.DuckDBPyConnection,
    problem_id: int,
    *,
    actor: str,
    description: str,
    owner_org: str,
    due: date | str | None = None,
    status: str = "planned",
) -> int:
    """A new action of a card (description and owner organisation scrubbed). Returns the action's id."""
    actor = _actor(actor)
    if status not in ACTION_STATUSES:
        raise ProblemError(f"unknown action status {status!r}; statuses: {', '.join(ACTION_STATUSES)}")
    text = _text(description, "action description", 1_000)
    org = _text(owner_org, "owner organisation", 200)
    if not text or not org:
        raise ProblemError("an action needs a description and an owner organisation")
    with writing(con) as cur:
        problem = get_problem(cur, problem_id)
        if problem.status == "closed":
            raise ProblemError(f"problem {problem_id} is closed: reopen it before adding actions")
        row = query(cur, "problem_action_insert", {"problem_id": problem.id, "description": text, "owner_org": org,
                                                   "due": _as_date(due) if due else None,
                                                   "status": status}).fetchone()  # fmt: skip
        assert row is not None
        action_id = int(row[0])
        _audit(cur, actor, "action.add", problem.id, action=action_id, status=status)
    return action_id


def update_action(
    con: duckdb.DuckDBPyConnection,
    action_id: int,
    *,
    actor: str,
    description: str | None = None,
    owner_org: str | None = None,
    due: date | str | None = None,
    status: str | None = None,
) -> None:
    """Change an action; fields left None are kept."""
    actor = _actor(actor)
    if status is not None and status not in ACTION_STATUSES:
        raise ProblemError(f"unknown action status {status!r}; statuses: {', '.join(ACTION_STATUSES)}")
    with writing(con) as cur:
        row = query(cur, "problem_action_get", {"id": int(action_id)}).fetchone()
        if row is None:
            raise ProblemError(f"no action {action_id}")
        query(cur, "problem_action_update", {"id": int(action_id),
                                             "description": _text(description, "action description", 1_000),
                                             "owner_org": _text(owner_org, "owner organisation", 200),
                                             "due": _as_date(due) if due else None, "status": status})  # fmt: skip
        changed = [n for n, v in (("description", description), ("owner_org", owner_org), ("due", due),
                                  ("status", status)) if v is not None]  # fmt: skip
        _audit(cur, actor, "action.update", int(row[1]), action=int(action_id), fields=changed,
               **({"from": row[5], "to": status} if status is not None and status != row[5] else {}))  # fmt: skip


def history(con: duckdb.DuckDBPyConnection, problem_id: int) -> list[dict[str, Any]]:
    """The audit rows about a card, oldest first: logged_at, actor, action, detail (parsed)."""
    rows = query(con, "problem_history", {"id": int(problem_id)}).fetchall()
    return [{"logged_at": r[0], "actor": r[1], "action": r[2], "detail": json.loads(r[3])} for r in rows]


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
        _name, geom = _area(con, problem.comparison_area)
        return _polygonal(geom.difference(problem.place))
    if problem.comparison_buffer_m:
        row = query(con, "problem_ring", {"wkb": shapely.to_wkb(problem.place),
                                          "crs": _metric_crs(con, problem.place),
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
