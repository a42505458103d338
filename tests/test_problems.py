"""Problem cards (SARA) on a constructed store: concerns with known counts, ingested the way users ingest them,
so the assessment's figures and verdicts are exact; status moves, scrubbing and the audit trail."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import click
import pytest
import shapely
from click.testing import CliRunner

from koban_geo.analysis.assessment import VERDICTS, assessment_figures
from koban_geo.community import problem_card as C
from koban_geo.community import problems as P
from koban_geo.community.problems import ProblemError
from koban_geo.ingest import ingest_file
from tests.helpers import write_areas, write_text

# The problem's place: about 550 m x 555 m in the west area HEL-W of tests.helpers.HELSINKI_AREAS.
PLACE = shapely.box(24.925, 60.165, 24.935, 60.170)
RESPONSE = datetime(2025, 6, 1)
PERIOD = 60
T0 = RESPONSE - timedelta(days=PERIOD)


def _spots(lon: float, lat: float) -> list[tuple[float, float]]:
    """Four points 200 m apart (four different 100 m cells, well inside their place)."""
    return [(lon + dx, lat + dy) for dx in (-0.0018, 0.0018) for dy in (-0.0009, 0.0009)]


def concerns() -> list[tuple[str, datetime, float, float, str]]:
    """(id, time, lat, lon, theme). Same-cell reports are at least 5 days apart: each is its own
    near-duplicate group, so counting groups and counting reports agree.

    noise in PLACE: 24 before the response [T0, RESPONSE), 8 after [RESPONSE, +60 d), 3 earlier, 2 later
    noise in HEL-E (the comparison area): 20 before, 25 after
    noise in a 300 m ring east of PLACE: 12 before, 12 after
    in PLACE also: 5 drugs, litter 3 before and 2 after, 1 domestic abuse (sensitive)
    """
    rows: list[tuple[str, datetime, float, float, str]] = []

    def add(prefix: str, n: int, start: datetime, step: int, points: list[tuple[float, float]], theme: str):
        for i in range(n):
            lon, lat = points[i % len(points)]
            rows.append((f"{prefix}{i}", start + timedelta(days=step * i, hours=12), lat, lon, theme))

    place, east, ring = _spots(24.930, 60.1675), _spots(24.950, 60.1675), [(24.9375, 60.1675)]
    add("pb", 24, T0, 2, place, "noise")
    add("pa", 8, RESPONSE, 2, place, "noise")
    add("cb", 20, T0, 2, east, "noise")
    add("ca", 25, RESPONSE, 2, east, "noise")
    add("rb", 12, T0, 5, ring, "noise")
    add("ra", 12, RESPONSE, 5, ring, "noise")
    add("old", 3, datetime(2025, 3, 1), 8, place, "noise")
    add("late", 2, datetime(2025, 8, 15), 8, place, "noise")
    add("dr", 5, T0, 9, place, "drugs")
    add("lb", 3, T0, 9, place, "litter")
    add("lz", 2, RESPONSE, 9, place, "litter")
    add("dv", 1, T0, 1, place, "domestic")
    return rows


SECRET = "Kova meteli joka yö"  # every concern's description starts with it: exports must never hold it


def build_store(con, settings, folder: Path) -> None:
    """Areas, then the concerns above as a semicolon CSV, through the real ingest."""
    ingest_file(con, settings, write_areas(folder / "areas.geojson"), kind="areas")
    text = "id;reported_at;lat;lon;theme;description\n" + "".join(
        f"{i};{t:%Y-%m-%d %H:%M};{lat:.6f};{lon:.6f};{theme};{SECRET} ({theme} {i})\n"
        for i, t, lat, lon, theme in concerns()
    )
    result = ingest_file(
        con, settings, write_text(folder / "concerns.csv", text), kind="concerns", source="t"
    )
    assert (result.accepted, result.rejected) == (len(concerns()), 0)


@pytest.fixture
def store(con, settings, tmp_path):
    build_store(con, settings, tmp_path)
    return con


def _new(con, settings, **kwargs) -> P.Problem:
    args = {"actor": "pc-1", "title": "Noise at night", "themes": ["noise"], "place": PLACE} | kwargs
    return P.get_problem(con, P.create_problem(con, settings, **args))


# ---------------------------------------------------------------------------------------------------------
# Assessment: exact figures on the constructed store
# ---------------------------------------------------------------------------------------------------------


def test_assessment_against_another_area(store, settings):
    problem = _new(store, settings)
    P.set_plan(store, problem.id, actor="pc-1", response_start="2025-06-01", period_days=PERIOD,
               comparison_area="HEL-E")  # fmt: skip
    got = C.assess(store, settings, P.get_problem(store, problem.id))
    assert got is not None
    assert (got.place_before, got.place_after, got.comparison_before, got.comparison_after) == (24, 8, 20, 25)
    assert got.change_pct == -66.7  # (8 - 24) / 24
    assert got.comparison_change_pct == 25.0  # (25 - 20) / 20
    assert got.relative_effect == 0.2667  # (8 / 24) / (25 / 20)
    assert (got.effect_low, got.effect_high) == (0.0988, 0.7198)  # exp(±1.96 sqrt(1/24 + 1/8 + 1/20 + 1/25))
    assert got.verdict_code == "fewer:more"
    assert got.verdict == "Fewer reports after the response, while the comparison area had more."
    assert not got.small_numbers and got.warnings == ()
    assert got.before == (date(2025, 4, 2), date(2025, 6, 1)) and got.after == (
        date(2025, 6, 1),
        date(2025, 7, 31),
    )
    assert got.comparison == "area HEL-E"


def test_assessment_against_a_ring_around_the_place(store, settings):
    problem = _new(store, settings)
    P.set_plan(
        store, problem.id, actor="pc-1", response_start=date(2025, 6, 1), period_days=PERIOD, buffer_m=300
    )
    got = C.assess(store, settings, P.get_problem(store, problem.id))
    assert (got.place_before, got.place_after, got.comparison_before, got.comparison_after) == (24, 8, 12, 12)
    assert (got.change_pct, got.comparison_change_pct, got.relative_effect) == (-66.7, 0.0, 0.3333)
    assert (got.effect_low, got.effect_high) == (0.1075, 1.0335)  # the interval holds 1: could be chance
    assert got.verdict_code == "fewer:same"
    assert got.verdict == (
        "Fewer reports after the response, while the comparison area stayed about the same. "
        "The difference from the comparison area could be chance."
    )
    ring = C.comparison_place(store, P.get_problem(store, problem.id))
    assert ring.geom_type == "Polygon" and len(ring.interiors) == 1  # a ring: the place is cut out
    assert not ring.intersects(PLACE.buffer(-1e-6))


def test_too_few_reports_to_say(store, settings):
    problem = _new(store, settings, title="Litter", themes=["litter"])
    P.set_plan(store, problem.id, actor="pc-1", response_start="2025-06-01", period_days=PERIOD,
               comparison_area="HEL-E")  # fmt: skip
    got = C.assess(store, settings, P.get_problem(store, problem.id))
    assert (got.place_before, got.place_after, got.comparison_before, got.comparison_after) == (3, 2, 0, 0)
    assert got.verdict_code == "too_few" and got.verdict == "Too few reports to say."
    assert got.small_numbers and got.relative_effect is None
    assert any("small numbers" in w for w in got.warnings)


def test_tiers_of_the_assessment(store, settings):
    """A later start: 24 before and 3 after in the place, 20 and 20 in HEL-E."""
    problem = _new(store, settings)
    P.set_plan(store, problem.id, actor="pc-1", response_start="2025-06-11", period_days=PERIOD,
               comparison_area="HEL-E")  # fmt: skip
    problem = P.get_problem(store, problem.id)
    officer = C.assess(store, settings, problem, audience="officer")
    assert (officer.place_before, officer.place_after, officer.comparison_before,
            officer.comparison_after) == (24, 3, 20, 20)  # fmt: skip
    assert (officer.change_pct, officer.comparison_change_pct, officer.relative_effect) == (-87.5, 0.0, 0.125)
    assert (
        officer.verdict
        == "Fewer reports after the response, while the comparison area stayed about the same."
    )
    council = C.assess(store, settings, problem, audience="council")
    # 3 < k is hidden, and so is 24 (else 27 - 24 would give it away when the place's total is known)
    assert (council.place_before, council.place_after) == (None, None)
    before, after = council.comparison_before, council.comparison_after
    assert abs(before - 20) <= 2 and abs(after - 20) <= 2  # shown with their cell key noise (privacy.cellkey)
    # the percentage comes from the counts shown (from the true ones it would undo the noise)
    assert council.comparison_change_pct == assessment_figures(0, 0, before, after).comparison_change_pct
    assert (council.change_pct, council.relative_effect) == (None, None)
    assert council.verdict == officer.verdict and council.effect_low is None
    public = C.assess(store, settings, problem, audience="public")
    assert all(getattr(public, f) is None for f in ("place_before", "place_after", "comparison_before",
                                                    "comparison_after", "change_pct", "relative_effect"))  # fmt: skip
    assert public.verdict == officer.verdict


@pytest.mark.parametrize(
    ("counts", "code"),
    [
        ((40, 20, 50, 50), "fewer:same"),
        ((40, 20, 50, 60), "fewer:more"),
        ((40, 10, 50, 40), "fewer:better"),  # effect 0.3125
        ((40, 30, 50, 37), "fewer:similar"),  # effect 1.0135
        ((40, 30, 50, 20), "fewer:worse"),  # effect 1.875
        ((20, 40, 50, 30), "more:fewer"),
        ((20, 40, 50, 50), "more:same"),
        ((20, 30, 20, 40), "more:better"),  # effect 0.75
        ((20, 40, 20, 41), "more:similar"),
        ((20, 40, 20, 25), "more:worse"),  # effect 1.6
        ((30, 31, 30, 10), "same:fewer"),
        ((30, 31, 30, 50), "same:more"),
        ((30, 31, 30, 29), "same:same"),
        ((30, 10, 2, 3), "fewer:none"),
        ((4, 5, 100, 100), "too_few"),
        ((0, 12, 10, 10), "more:same"),  # no reports before: more, and no effect (division by zero)
    ],
)
def test_every_verdict(counts, code):
    got = assessment_figures(*counts)
    assert got.verdict_code == code
    assert got.verdict.startswith(VERDICTS[code])
    if 0 in counts:
        assert got.relative_effect is None and got.effect_low is None


def test_the_effect_is_the_ratio_of_ratios():
    got = assessment_figures(40, 10, 50, 40)
    assert got.relative_effect == round((10 / 40) / (40 / 50), 4)
    assert got.effect_low < got.relative_effect < got.effect_high
    assert got.verdict == "Fewer reports after the response: a bigger fall than in the comparison area."


# ---------------------------------------------------------------------------------------------------------
# Scanning and analysis
# ---------------------------------------------------------------------------------------------------------


def test_scanning_counts_per_month_and_the_officers_concern_keys(store, settings):
    problem = _new(store, settings)
    officer = C.scan(store, settings, problem)
    assert [m.isoformat()[:7] for m in officer.months["month"]] == [
        "2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08"]  # fmt: skip
    assert list(officer.months["count"]) == [3, 15, 9, 8, 0, 2]
    assert officer.total == 37 and officer.trend in P.TRENDS
    assert len(officer.concerns) == 37 and {c["theme"] for c in officer.concerns} == {"noise"}
    assert {"source", "id", "reported_at", "theme"} == set(officer.concerns[0])
    council = C.scan(store, settings, problem, audience="council")
    shown = council.months["count"].astype(object).where(council.months["count"].notna(), None).tolist()
    assert [n is None for n in shown] == [True, False, False, False, False, True] and shown[4] == 0
    assert all(abs(n - t) <= 2 for n, t in zip(shown[1:4], [15, 9, 8], strict=True))  # cell key noise
    assert abs(council.total - 37) <= 2 and council.concerns == []


def test_sensitive_themes_are_officers_only(store, settings):
    problem = _new(store, settings, themes=["noise", "domestic"])
    assert C.scan(store, settings, problem).total == 38
    officer = C.card(store, settings, problem, audience="officer").properties
    assert officer["sensitive_themes"] == ["domestic"]
    council = C.card(store, settings, problem, audience="council").properties
    assert council["themes"] == ["noise"] and abs(council["scanning"]["total"] - 37) <= 2  # cell key noise
    only_sensitive = _new(store, settings, title="At home", themes=["domestic"])
    assert C.card(store, settings, only_sensitive, audience="public") is None
    assert C.card(store, settings, only_sensitive, audience="council") is None


def test_analysis_context_counts_crime_and_layers_inside_the_place(store, settings, tmp_path):
    lamps = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": f"lamp{i}"},
         "geometry": {"type": "Point", "coordinates": [lon, 60.1675]}}
        for i, lon in enumerate([24.927, 24.929, 24.931, 24.945])]}  # fmt: skip
    ingest_file(store, settings, write_text(tmp_path / "lamps.geojson", json.dumps(lamps)), kind="layer",
                layer="streetlights")  # fmt: skip
    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
              "Crime type,Last outcome category,Context\n")  # fmt: skip
    crimes = "".join(
        f"{i:064x},2025-05,Force,Force,{lon},60.1675,On or near X,HEL-W,Kamppi,{kind},,\n"
        for i, (lon, kind) in enumerate(
            [(24.928, "Drugs"), (24.929, "Drugs"), (24.931, "Criminal damage and arson"), (24.955, "Drugs")]
        )  # fmt: skip
    )
    ingest_file(store, settings, write_text(tmp_path / "2025-05-street.csv", header + crimes), kind="crime")
    problem = _new(store, settings)
    ctx = C.context(store, problem)
    assert ctx.layers == {"streetlights": 3}
    assert {(c["crime_type"], c["count"]) for c in ctx.crime} == {
        ("Drugs", 2),
        ("Criminal damage and arson", 1),
    }
    card = C.card(store, settings, problem, audience="officer").properties
    assert card["analysis"]["layers"] == {"streetlights": 3}
    assert "analysis" not in C.card(store, settings, problem, audience="council").properties


# ---------------------------------------------------------------------------------------------------------
# Places, origins and text
# ---------------------------------------------------------------------------------------------------------


def test_a_place_must_be_a_polygon_of_at_least_one_grid_cell(store, settings):
    with pytest.raises(ProblemError, match="polygon"):
        _new(store, settings, place=shapely.Point(24.93, 60.1675))
    with pytest.raises(ProblemError, match="less than one 100 m grid cell"):
        _new(store, settings, place=shapely.box(24.930, 60.1675, 24.9305, 60.1678))
    with pytest.raises(ProblemError, match="exactly one"):
        P.create_problem(
            store, settings, actor="pc-1", title="x", themes=["noise"], place=PLACE, area="HEL-W"
        )
    with pytest.raises(ProblemError, match="unknown theme"):
        _new(store, settings, themes=["noise", "nonsense"])
    with pytest.raises(ProblemError, match="actor"):
        _new(store, settings, actor=" ")


def test_cards_from_cells_an_area_geojson_and_a_meeting_item(store, settings):
    left, right = shapely.box(24.928, 60.166, 24.930, 60.167), shapely.box(24.930, 60.166, 24.932, 60.167)
    cells = _new(store, settings, place=None, cells=[left, right])
    assert cells.origin == "cells" and cells.place.equals(shapely.union_all([left, right]))
    area = _new(store, settings, place=None, area="HEL-E")
    assert (area.origin, area.origin_ref, area.area_code) == ("area", "HEL-E", "HEL-E")
    drawn = _new(store, settings, place=json.dumps(shapely.geometry.mapping(PLACE)))
    assert drawn.place.equals(PLACE) and drawn.area_code == "HEL-W"

    from koban_geo.community.meetings import create_meeting, custom_candidate, theme_candidate

    meeting = create_meeting(store, title="Kamppi", date=date(2025, 9, 1), areas=["HEL-W"], actor="anna",
                             candidates=[theme_candidate("noise"), custom_candidate("Bikes on pavements")])  # fmt: skip
    from_item = P.get_problem(store, P.create_problem(store, settings, actor="pc-1",
                                                      candidate=f"{meeting.id}:theme:noise"))  # fmt: skip
    assert (from_item.origin, from_item.origin_ref, from_item.themes, from_item.title) == (
        "candidate",
        f"{meeting.id}:theme:noise",
        ("noise",),
        "Noise",
    )
    assert from_item.place.equals(
        P.area_place(store, "HEL-W")[1]
    )  # an item without a place: the meeting's areas
    with pytest.raises(ProblemError, match="at least one theme"):  # a hand-made item names no theme
        P.create_problem(store, settings, actor="pc-1", candidate=(meeting.id, meeting.candidates[1].key))
    with pytest.raises(ProblemError, match="no item"):
        P.create_problem(store, settings, actor="pc-1", candidate=(meeting.id, "theme:drugs"))


def test_texts_are_scrubbed_before_they_are_stored(store, settings):
    problem = _new(store, settings, title="Noise, call 040 123 4567")
    P.set_analysis(store, problem.id, actor="pc-1", place="Courtyard of Liisankatu 12 B 24",
                   victim="neighbours", offender="guests", notes="Told by anna@example.com")  # fmt: skip
    P.add_action(
        store, problem.id, actor="pc-1", description="Call 040 765 4321 about it", owner_org="Police"
    )
    stored = store.execute(
        "SELECT title, triangle_place, triangle_victim, notes FROM problems WHERE id = ?", [problem.id]
    ).fetchone()
    assert stored == ("Noise, call [PHONE]", "Courtyard of [ADDRESS]", "neighbours", "Told by [EMAIL]")
    assert store.execute("SELECT description FROM problem_actions").fetchone()[0] == "Call [PHONE] about it"
    P.set_analysis(store, problem.id, actor="pc-1", notes=None)  # clears notes, keeps the triangle
    again = P.get_problem(store, problem.id)
    assert again.notes is None and again.triangle_offender == "guests"


# ---------------------------------------------------------------------------------------------------------
# Status workflow and the audit trail
# ---------------------------------------------------------------------------------------------------------


def test_status_moves_one_step_forward_or_back(store, settings):
    pid = _new(store, settings).id
    with pytest.raises(ProblemError, match="one step forward"):
        P.set_status(store, pid, "response", actor="pc-1")
    P.set_status(store, pid, "analysis", actor="pc-1")
    with pytest.raises(ProblemError, match="at least one action"):
        P.set_status(store, pid, "response", actor="pc-1")
    action = P.add_action(store, pid, actor="pc-2", description="Noise patrols on Friday nights",
                          owner_org="Helsinki Police", due="2025-06-30")  # fmt: skip
    P.set_status(store, pid, "response", actor="pc-1")
    with pytest.raises(ProblemError, match="response start date and a comparison"):
        P.set_status(store, pid, "assessment", actor="pc-1")
    P.set_plan(
        store, pid, actor="pc-1", response_start="2025-06-01", period_days=PERIOD, comparison_area="HEL-E"
    )
    P.set_status(store, pid, "assessment", actor="pc-1")
    P.set_status(
        store, pid, "analysis", actor="pc-3", reason="the noise moved to the next street"
    )  # SARA loop
    with pytest.raises(ProblemError, match="cannot move from analysis to closed"):
        P.set_status(store, pid, "closed", actor="pc-1")
    for status in ("response", "assessment", "closed"):
        P.set_status(store, pid, status, actor="pc-1")
    with pytest.raises(ProblemError, match="already in closed"):
        P.set_status(store, pid, "closed", actor="pc-1")
    with pytest.raises(ProblemError, match="closed"):
        P.add_action(store, pid, actor="pc-1", description="More", owner_org="Police")
    P.update_action(store, action, actor="pc-2", status="done")
    assert P.get_problem(store, pid).status == "closed"
    assert P.get_problem(store, pid).actions[0].status == "done"

    moves = [(h["actor"], h["detail"]["from"], h["detail"]["to"]) for h in P.history(store, pid)
             if h["action"] == "problem.status"]  # fmt: skip
    assert moves == [
        ("pc-1", "scanning", "analysis"), ("pc-1", "analysis", "response"), ("pc-1", "response", "assessment"),
        ("pc-3", "assessment", "analysis"), ("pc-1", "analysis", "response"), ("pc-1", "response", "assessment"),
        ("pc-1", "assessment", "closed"),
    ]  # fmt: skip
    actions = [h["action"] for h in P.history(store, pid)]
    assert actions[0] == "problem.create" and actions.count("problem.plan") == 1
    assert "problem.action.add" in actions and actions[-1] == "problem.action.update"
    reason = next(h for h in P.history(store, pid) if h["actor"] == "pc-3")["detail"]["reason"]
    assert reason == "the noise moved to the next street"


def test_every_change_is_audited_without_its_text(store, settings):
    from koban_geo.store.sql import audit

    audit(store, "moderator", "redact", "t/pb0")  # other modules write plain-text details
    before = store.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    pid = _new(store, settings).id
    P.set_analysis(store, pid, actor="pc-1", notes="Private working note 12345")
    P.add_action(store, pid, actor="pc-1", description="Mediation", owner_org="City")
    P.set_plan(store, pid, actor="pc-1", response_start="2025-06-01", period_days=30, buffer_m=200)
    rows = store.execute("SELECT actor, action, detail FROM audit_log ORDER BY id").fetchall()[before:]
    assert [r[1] for r in rows] == [
        "problem.create",
        "problem.analysis",
        "problem.action.add",
        "problem.plan",
    ]
    assert all(r[0] == "pc-1" and json.loads(r[2])["problem"] == pid for r in rows)
    assert json.loads(rows[1][2])["fields"] == ["notes"]
    assert not any("Private working note" in r[2] or "Mediation" in r[2] for r in rows)
    with pytest.raises(ProblemError):  # a refused change writes nothing
        P.set_status(store, pid, "closed", actor="pc-1")
    assert store.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before + 4
    assert [h["action"] for h in P.history(store, pid)] == [r[1] for r in rows]


def test_public_and_council_cards(store, settings):
    pid = _new(store, settings, title="Noise at night").id
    P.set_analysis(store, pid, actor="pc-1", notes="Working note", victim="neighbours")
    P.add_action(store, pid, actor="pc-1", description="Patrols", owner_org="Police", due="2025-06-30")
    P.set_plan(
        store, pid, actor="pc-1", response_start="2025-06-01", period_days=PERIOD, comparison_area="HEL-E"
    )
    public = C.card(store, settings, pid, audience="public").properties
    assert set(public) == {"problem_id", "title", "status", "area_code", "themes", "actions", "assessment"}
    assert public["actions"] == [{"description": "Patrols", "owner_org": "Police", "due": "2025-06-30",
                                  "status": "planned"}]  # fmt: skip
    assert public["assessment"]["verdict_code"] == "fewer:more" and "place_before" not in public["assessment"]
    council = C.card(store, settings, pid, audience="council").properties
    assert abs(council["assessment"]["place_before"] - 24) <= 2 and "effect_low" not in council["assessment"]
    assert "analysis" not in council and "concerns" not in council["scanning"]
    text = json.dumps(public, default=str) + json.dumps(council, default=str)
    assert "Working note" not in text and "neighbours" not in text


# ---------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------


def _cli(settings) -> click.Group:
    from koban_geo.cli.export import problems_group
    from koban_geo.cli.main import _Context

    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = _Context(settings.db)

    root.add_command(problems_group)
    return root


def test_problems_list_and_show(store, settings):
    pid = _new(store, settings, title="Noise at night").id
    P.set_analysis(store, pid, actor="pc-1", notes="Working note")
    store.close()  # the CLI opens the store read-only
    runner = CliRunner()
    listed = runner.invoke(_cli(settings), ["problems", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Noise at night" in listed.output and "scanning" in listed.output
    shown = runner.invoke(_cli(settings), ["problems", "show", str(pid), "--history"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert doc["analysis"]["notes"] == "Working note" and doc["place"]["type"] == "Polygon"
    assert [h["action"] for h in doc["history"]] == ["problem.create", "problem.analysis"]
    public = json.loads(
        runner.invoke(_cli(settings), ["problems", "show", str(pid), "--audience", "public"]).output
    )
    assert "analysis" not in public and "Working note" not in json.dumps(public)
    missing = runner.invoke(_cli(settings), ["problems", "show", "999"])
    assert missing.exit_code == 2 and "no problem card 999" in missing.output
