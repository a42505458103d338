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
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd
import shapely
import shapely.errors
import shapely.geometry

from koban_geo.privacy.scrub import scrub_text
from koban_geo.store.crs import store_crs
from koban_geo.store.settings import Settings
from koban_geo.store.sql import audit, query, writing
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


def metric_crs(con: duckdb.DuckDBPyConnection, geom: shapely.Geometry) -> str:
    """The store's metric CRS, else the one for this place's centre (koban_geo.store.crs owns the choice)."""
    return store_crs(con, lambda: (geom.centroid.x, geom.centroid.y))


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


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry, made valid; empty if it has none."""
    geom = shapely.make_valid(geom) if not geom.is_valid else geom
    if isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, (shapely.Polygon, shapely.MultiPolygon))]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def checked_place(con: duckdb.DuckDBPyConnection, settings: Settings, place: Any) -> shapely.Geometry:
    """The place of a card: polygons in lon/lat covering at least one snapping cell (`settings.grid_m`²)."""
    from pyproj import Transformer

    geom = polygonal(_as_geometry(place))
    if geom.is_empty:
        raise ProblemError("the place of a problem must be a polygon (points and lines point at a house)")
    west, south, east, north = geom.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ProblemError("the place must be in longitude/latitude (EPSG:4326)")
    transformer = Transformer.from_crs("EPSG:4326", metric_crs(con, geom), always_xy=True)
    area_m2 = shapely.transform(geom, transformer.transform, interleaved=False).area
    if area_m2 < settings.grid_m**2 * 0.99:
        raise ProblemError(
            f"the place covers {area_m2:.0f} m², less than one {settings.grid_m} m grid cell: draw it larger"
        )
    return geom


def area_place(con: duckdb.DuckDBPyConnection, code: str) -> tuple[str, shapely.Geometry]:
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
        _name, geom = area_place(con, area)
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
        geom = shapely.union_all([area_place(con, code)[1] for code in meeting.areas])
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
            area_place(cur, comparison_area)
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
