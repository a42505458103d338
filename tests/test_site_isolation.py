"""Two sites in one store are isolated in every output (issue 16, item 1).

The property, for generated sites (area names, concern texts, counts per area including zero, a meeting with
ballots and a problem card each): site A's outputs are the same before and after site B is filled with the
same area codes, the same concern source and partly the same concern ids, over the same ground; and no output
of A holds an area name, a meeting title, a problem title or a concern text of B. A query that forgot its
site filter would change one of A's outputs (a count, a cell, a tally) or show one of B's strings.
Outputs: the CLI's stats, export (hotspots GeoJSON, areas CSV, problems GeoJSON, priorities CSV, meeting
pack), meetings list and results, problems list and show (with its audit history), and the library calls
the dashboard pages make (area counts, area names, bounds, review queue).
"""

from __future__ import annotations

import json
import random
import re
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from koban_geo.cli.main import cli
from koban_geo.store.db import connect
from koban_geo.store.scope import bind_site
from koban_geo.store.settings import Settings
from koban_geo.store.sites import add_site, site_settings

# 2 x 2 areas in central Helsinki; both sites use these codes and this ground
CELLS = {f"Q{i}": (24.92 + 0.02 * (i % 2), 60.16 + 0.015 * (i // 2)) for i in range(4)}
THEMES = ("noise", "litter", "parking", "asb")
# the two sites' words come from disjoint letters, so one site's word can never be part of the other's
WORD = {"a": "abcdefghijklm", "b": "nopqrstuvwxyz"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?")


def _words(letters: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=letters, min_size=9, max_size=12)


def _site_content(letters: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "names": st.lists(_words(letters), min_size=4, max_size=4, unique=True),
        "texts": st.lists(_words(letters), min_size=3, max_size=3, unique=True),
        "counts": st.lists(st.integers(0, 14), min_size=4, max_size=4),
        "meeting": _words(letters),
        "problem": _words(letters),
        "seed": st.integers(0, 2**16),
        "ballots": st.lists(st.integers(0, 3), min_size=1, max_size=4),
    })  # fmt: skip


def _areas_file(path: Path, names: list[str]) -> Path:
    features = []
    for (code, (x, y)), name in zip(CELLS.items(), names, strict=True):
        ring = [[x, y], [x + 0.02, y], [x + 0.02, y + 0.015], [x, y + 0.015], [x, y]]
        features.append({"type": "Feature", "properties": {"code": code, "name": name},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _concerns_file(path: Path, content: dict[str, Any]) -> Path:
    rnd = random.Random(content["seed"])
    lines = ["id,reported_at,lat,lon,theme,text"]
    n = 0
    for (x, y), count in zip(CELLS.values(), content["counts"], strict=True):
        for _ in range(count):
            n += 1  # ids 1, 2, ... in both sites: the same source and id are a new concern in the other site
            lon, lat = x + 0.002 + rnd.random() * 0.016, y + 0.002 + rnd.random() * 0.011
            day = 1 + rnd.randrange(28)
            text = content["texts"][rnd.randrange(len(content["texts"]))]
            lines.append(f"{n},2026-10-{day:02d}T1{rnd.randrange(10)}:00:00,{lat:.6f},{lon:.6f},"
                         f"{THEMES[rnd.randrange(len(THEMES))]},{text} near the corner")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fill(db: Path, tmp: Path, site: str, content: dict[str, Any]) -> tuple[int, int]:
    """Site `site`'s areas, concerns, an open meeting with ballots and a problem card; (meeting, problem)."""
    from koban_geo.community.meetings import create_meeting, open_meeting, theme_candidate
    from koban_geo.community.problems import create_problem
    from koban_geo.community.voting import cast_ballot
    from koban_geo.ingest import ingest_file

    con = connect(db)
    try:
        bind_site(con, site)
        settings = site_settings(con, Settings(db=db), site)
        ingest_file(con, settings, _areas_file(tmp / f"areas-{site}.geojson", content["names"]), kind="areas",
                    code_field="code", name_field="name")  # fmt: skip
        if sum(content["counts"]):
            ingest_file(con, settings, _concerns_file(tmp / f"concerns-{site}.csv", content), source="app")
        meeting = create_meeting(con, title=content["meeting"], date=date(2026, 11, 1), areas=list(CELLS),
                                 candidates=[theme_candidate(t) for t in THEMES[:3]], actor="officer.x")  # fmt: skip
        open_meeting(con, meeting.id, "officer.x")
        keys = list(meeting.keys)
        for n, pick in enumerate(content["ballots"]):
            cast_ballot(con, meeting.code, f"{site}-phone-{n:04d}-abcdefgh", "resident", {keys[pick % 3]: 1})
        problem = create_problem(con, settings, actor="officer.x", title=content["problem"], themes=["noise"],
                                 area="Q0")  # fmt: skip
        return meeting.id, problem
    finally:
        con.close()


def _cli(db: Path, site: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", str(db), "--site", site, *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.output


EXPORTS = 5  # audited outputs of one `_outputs` run: the site's audit log grows by these and nothing else


def _outputs(
    db: Path, tmp: Path, site: str, meeting: int, problem: int, runs_before: int = 0
) -> dict[str, str]:
    """Every output of `site` as text, timestamps blanked (what differs between two runs of the same data);
    the audit-log count leaves out the exports of the `runs_before` earlier runs."""
    from koban_geo.analysis.areas import area_counts, area_names, bounds
    from koban_geo.privacy.moderation import review_queue

    out: dict[str, str] = {}
    stats = json.loads(_cli(db, site, "stats", "--json"))
    stats["tables"]["audit_log"] -= EXPORTS * runs_before
    out["stats"] = json.dumps(stats, indent=1)
    for what, audience, suffix in (("hotspots", "analyst", "geojson"), ("areas", "officer", "csv"),
                                   ("problems", "officer", "geojson")):  # fmt: skip
        path = tmp / f"{site}-{what}.{suffix}"
        _cli(db, site, "export", "--what", what, "--audience", audience, "--out", str(path))
        out[f"export {what}"] = path.read_text(encoding="utf-8-sig")
    path = tmp / f"{site}-priorities.csv"
    _cli(db, site, "export", "--what", "priorities", "--meeting", str(meeting), "--out", str(path))
    out["export priorities"] = path.read_text(encoding="utf-8-sig")
    path = tmp / f"{site}-pack.html"
    _cli(db, site, "export", "--what", "pack", "--meeting", str(meeting), "--out", str(path))
    out["pack"] = path.read_text(encoding="utf-8")
    out["meetings list"] = _cli(db, site, "meetings", "list", "--json")
    out["meeting results"] = _cli(db, site, "meetings", "results", str(meeting), "--json")
    out["problems list"] = _cli(db, site, "problems", "list", "--json")
    out["problem card"] = _cli(
        db, site, "problems", "show", str(problem), "--audience", "officer", "--history"
    )
    con = connect(db, read_only=True)
    try:
        bind_site(con, site)
        settings = site_settings(con, Settings(db=db), site)
        out["area counts"] = repr(area_counts(con, settings, None, "officer")[0])
        out["area names"] = repr(area_names(con))
        out["bounds"] = repr(bounds(con))
        out["review queue"] = repr(review_queue(con))
    finally:
        con.close()
    return {name: TIMESTAMP.sub("<time>", text) for name, text in out.items()}


def _strings(content: dict[str, Any]) -> list[str]:
    return [*content["names"], *content["texts"], content["meeting"], content["problem"]]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=_site_content(WORD["a"]), b=_site_content(WORD["b"]))
def test_site_a_sees_nothing_of_site_b(tmp_path_factory, a, b):
    tmp = tmp_path_factory.mktemp("sites")
    db = tmp / "two.duckdb"
    con = connect(db)
    add_site(con, "site-a", "Site A", actor="test")
    add_site(con, "site-b", "Site B", k_min=7, actor="test")
    con.close()
    meeting_a, problem_a = _fill(db, tmp, "site-a", a)
    before = _outputs(db, tmp, "site-a", meeting_a, problem_a)
    meeting_b, problem_b = _fill(db, tmp, "site-b", b)
    after = _outputs(db, tmp, "site-a", meeting_a, problem_a, runs_before=1)
    for name, text in after.items():
        assert text == before[name], f"site A's {name} changed when site B was filled"
        leaked = [s for s in _strings(b) if s in text]
        assert not leaked, f"site A's {name} shows site B's {leaked}"
    # and the other way round: B's own outputs hold B's strings and none of A's
    theirs = _outputs(db, tmp, "site-b", meeting_b, problem_b)
    assert b["meeting"] in theirs["meeting results"] + theirs["pack"]
    assert b["problem"] in theirs["problems list"]
    for name, text in theirs.items():
        leaked = [s for s in _strings(a) if s in text]
        assert not leaked, f"site B's {name} shows site A's {leaked}"
    # a site's meeting, problem or area is not reachable by id or code from the other site
    other = CliRunner().invoke(cli, ["--db", str(db), "--site", "site-a", "problems", "show", str(problem_b)])
    assert other.exit_code == 2 and b["problem"] not in other.output
    other = CliRunner().invoke(
        cli, ["--db", str(db), "--site", "site-a", "meetings", "results", str(meeting_b)]
    )
    assert other.exit_code == 2 and b["meeting"] not in other.output
