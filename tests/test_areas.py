"""Concerns per area (koban_geo.analysis.areas.area_counts): counts against direct SQL, k-suppression with its
complementary step for the public tier, and sensitive themes kept out of public counts."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from koban_geo.analysis.areas import area_counts, crime_locations, layer_points
from koban_geo.analysis.grid import Filter
from koban_geo.privacy.audience import PrivacyError
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from koban_geo.store.taxonomy import sensitive_codes, theme_codes
from tests.helpers import add_concerns

# Five side-by-side squares in central Helsinki; (area, theme) -> reports. k is 5 (the default k_min).
# A (2) is under k; hiding it alone would leave it recoverable from the shown total, so the next smallest
# shown area, B (7), is hidden too. D has none (zero is shown). C's themes 6 + 4: litter (4) is hidden and
# so, complementarily, is noise; E's two themes of 10 are both shown.
COUNTS = {
    ("A", "noise"): 2,
    ("B", "noise"): 4, ("B", "litter"): 3,
    ("C", "noise"): 6, ("C", "litter"): 4,
    ("E", "noise"): 10, ("E", "asb"): 10,
}  # fmt: skip
DOMESTIC_IN_C = 6


def _square(i: int) -> str:
    x0 = 24.930 + i * 0.005
    return f"POLYGON(({x0} 60.160, {x0 + 0.005} 60.160, {x0 + 0.005} 60.165, {x0} 60.165, {x0} 60.160))"


@pytest.fixture
def small(con):
    for i, code in enumerate("ABCDE"):
        con.execute(
            "INSERT INTO areas (code, name, geom, batch_id) VALUES ($code, $name, ST_GeomFromText($wkt), 1)",
            {"code": code, "name": f"Area {code}", "wkt": _square(i)},
        )
    rows = []
    for (area, theme), n in {**COUNTS, ("C", "domestic"): DOMESTIC_IN_C}.items():
        i = "ABCDE".index(area)
        rows += [(f"{area}-{theme}-{j}", theme, area, 24.9325 + i * 0.005) for j in range(n)]
    frame = pd.DataFrame(rows, columns=["id", "theme", "area_code", "lon"])
    add_concerns(con, frame.assign(lat=60.1625, reported_at=datetime(2025, 3, 1, 10)))
    return con


def _by_code(rows):
    return {p["area_code"]: p for _g, p in rows}


def near(shown, true, k=5):
    """A public count as the cell key method publishes it: within 2 of the true count, never under k."""
    return shown is not None and abs(shown - true) <= 2 and (shown >= k or shown == true == 0)


def _themes(top):
    return [t["theme"] for t in top]


def test_officer_counts_are_the_plain_counts(small, settings):
    rows, meta = area_counts(small, settings, Filter(unit="reports"), audience="officer")
    got = _by_code(rows)
    assert {c: p["count"] for c, p in got.items()} == {"A": 2, "B": 7, "C": 10, "D": 0, "E": 20}
    assert not any(p["suppressed"] for p in got.values())
    assert got["C"]["top_themes"] == [{"theme": "noise", "count": 6, "sensitive": False},
                                      {"theme": "litter", "count": 4, "sensitive": False}]  # fmt: skip
    assert meta["total"] == 39 and meta["privacy"]["audience"] == "officer"
    assert all(g.geom_type == "Polygon" for g, _p in rows)


def test_public_hides_small_areas_and_their_complement(small, settings):
    rows, meta = area_counts(small, settings, Filter(unit="reports"), audience="public")
    got = _by_code(rows)
    counts = {c: p["count"] for c, p in got.items()}
    assert counts["A"] is None and counts["B"] is None and counts["D"] == 0
    assert near(counts["C"], 10) and near(counts["E"], 20)
    assert {c for c, p in got.items() if p["suppressed"]} == {"A", "B"}
    hidden = sum(n for (area, _t), n in COUNTS.items() if area in "AB")
    assert hidden >= settings.k_min  # what is hidden cannot be worked out from the total
    assert near(meta["total"], 39) and meta["suppressed"] == 2
    assert meta["privacy"]["k"] == settings.k_min
    # a hidden area shows no themes; C's litter (4) is hidden and noise with it; E shows both
    assert got["A"]["top_themes"] == [] and got["B"]["top_themes"] == []
    assert got["C"]["top_themes"] == []
    assert _themes(got["E"]["top_themes"]) == ["asb", "noise"]
    assert all(near(t["count"], 10) for t in got["E"]["top_themes"])


def test_public_top_themes_never_leave_a_small_remainder(small, settings):
    rows, _meta = area_counts(small, settings, Filter(unit="reports"), audience="public", top=1)
    e = _by_code(rows)["E"]
    # showing asb 10 of 20 leaves 10 (>= k) for the rest: allowed
    assert _themes(e["top_themes"]) == ["asb"] and near(e["top_themes"][0]["count"], 10)


def test_sensitive_themes_never_counted_for_public(small, settings):
    officer = _by_code(area_counts(small, settings, Filter(unit="reports"), audience="officer")[0])
    assert officer["C"]["count"] == 10  # not named: not counted, even for officers
    named = Filter(themes=("noise", "domestic"), unit="reports")
    officer = _by_code(area_counts(small, settings, named, audience="officer")[0])
    assert officer["C"]["count"] == 6 + DOMESTIC_IN_C
    assert {"theme": "domestic", "count": DOMESTIC_IN_C, "sensitive": True} in officer["C"]["top_themes"]
    public_rows, meta = area_counts(small, settings, named, audience="public")
    public = _by_code(public_rows)
    assert near(public["C"]["count"], 6)  # the named sensitive theme is dropped before counting
    assert "domestic" not in meta["filter"]["themes"]
    assert all(t["theme"] not in sensitive_codes() for p in public.values() for t in p["top_themes"])


def test_unknown_theme_is_refused(small, settings):
    with pytest.raises(ValueError, match="unknown theme"):
        area_counts(small, settings, Filter(themes=("nonsense",)), audience="officer")


def test_areas_filter_keeps_only_those_areas(small, settings):
    rows, meta = area_counts(small, settings, Filter(areas=("C", "E"), unit="reports"), audience="officer")
    assert [p["area_code"] for _g, p in rows] == ["C", "E"]
    assert meta["filter"]["areas"] == ["C", "E"]


def test_points_refused_for_public_tiers(small, settings):
    for audience in ("public", "council"):
        with pytest.raises(PrivacyError):
            crime_locations(small, settings, None, audience)
        with pytest.raises(PrivacyError):
            layer_points(small, settings, "streetlights", audience)


# ---- the demo store: real data, direct SQL as the reference ----------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_db):
    con = connect(demo_db, read_only=True)
    yield con, Settings(db=demo_db)
    con.close()


@pytest.mark.parametrize("unit", ["reports", "groups"])
@pytest.mark.parametrize(
    "flt_args",
    [{}, {"themes": ("noise", "asb")}, {"since": datetime(2026, 1, 1), "until": datetime(2026, 7, 1)}],
)
def test_demo_counts_equal_direct_sql(demo, unit, flt_args):
    con, settings = demo
    flt = Filter(unit=unit, **flt_args)
    rows, meta = area_counts(con, settings, flt, audience="officer")
    counted = "count(*)" if unit == "reports" else "count(DISTINCT coalesce(group_id, source || '/' || id))"
    themes = list(flt.themes) if flt.themes else [t for t in theme_codes() if t not in sensitive_codes()]
    expected = dict(
        con.execute(
            f"""SELECT a.code, (SELECT {counted} FROM concerns c WHERE c.area_code = a.code
                    AND list_contains($themes, c.theme)
                    AND ($since IS NULL OR c.reported_at >= $since) AND ($until IS NULL OR c.reported_at < $until))
                FROM areas a""",  # the unit expression is one of two literals above
            {"themes": themes, "since": flt.since, "until": flt.until},
        ).fetchall()
    )
    got = {p["area_code"]: p["count"] for _g, p in rows}
    assert got == expected
    assert len(rows) == 22 and sum(got.values()) > 0
    assert meta["total"] == sum(got.values())
    for _g, p in rows:  # the top themes of an area never add up to more than its count
        assert sum(t["count"] for t in p["top_themes"]) <= p["count"]


@pytest.mark.parametrize("theme", [t for t in theme_codes() if t not in sensitive_codes()])
def test_demo_public_release_invariants(demo, theme):
    """Per theme, the public areas: every shown count is 0 or >= k, and what is hidden sums to 0 or >= k."""
    con, settings = demo
    k = settings.k_min
    flt = Filter(themes=(theme,), unit="reports")
    public, _meta = area_counts(con, settings, flt, audience="public")
    officer, _meta = area_counts(con, settings, flt, audience="officer")
    raw = {p["area_code"]: p["count"] for _g, p in officer}
    shown = {p["area_code"]: p["count"] for _g, p in public}
    assert all(n is None or n == 0 or n >= k for n in shown.values())
    hidden = sum(raw[c] for c, n in shown.items() if n is None)
    assert hidden == 0 or hidden >= k
    assert all(near(shown[c], raw[c], k) for c in shown if shown[c] is not None)


def test_bounds_are_the_areas_else_the_concerns(con):
    """areas_bounds reads the areas only; the concerns' extent (a scan) is asked for only without areas."""
    from koban_geo.analysis.areas import bounds

    assert bounds(con) is None  # an empty store
    when = datetime(2025, 3, 1, 10)
    add_concerns(
        con,
        [
            {"id": "a", "reported_at": when, "theme": "noise", "lon": 24.95, "lat": 60.17},
            {"id": "b", "reported_at": when, "theme": "noise", "lon": 24.97, "lat": 60.18},
        ],
    )
    assert bounds(con) == pytest.approx((24.95, 60.17, 24.97, 60.18))
    con.execute(
        "INSERT INTO areas (code, name, geom, batch_id) VALUES ('A', 'Area A', ST_GeomFromText($wkt), 1)",
        {"wkt": _square(0)},
    )
    assert bounds(con) == pytest.approx((24.930, 60.160, 24.935, 60.165))


def test_top_themes_are_the_commonest_for_officers(small, settings):
    rows, _ = area_counts(small, settings, Filter(), "officer", top=2)
    got = _by_code(rows)
    assert [t["theme"] for t in got["C"]["top_themes"]] == ["noise", "litter"]
    assert [t["count"] for t in got["E"]["top_themes"]] == [10, 10]
    assert [t["theme"] for t in got["E"]["top_themes"]] == ["asb", "noise"]  # ties by theme code
    assert got["C"]["count"] == 10 and got["D"]["count"] == 0 and got["D"]["top_themes"] == []
