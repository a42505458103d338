"""What a map shows (koban_geo/outputs/maplayers.py) on the real demo store: the allow-lists per tier, the
cells a map draws, and the empty-period facts the map's message is made of."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from koban_geo.analysis.grid import Filter
from koban_geo.outputs import maplayers
from koban_geo.privacy.audience import PrivacyError
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings


@pytest.fixture(scope="module")
def demo(demo_db):
    con = connect(demo_db, read_only=True)
    yield con, Settings(db=demo_db, tiles_url="")
    con.close()


def test_aggregate_tiers_get_aggregates_only():
    for tier in ("public", "council"):
        assert maplayers.allowed_layers(tier, ["streetlights"]) == ["areas", "gistar", "emerging", "dbscan"]
    officer = maplayers.allowed_layers("officer", ["streetlights"])
    assert officer[-1] == "open:streetlights" and "kde" in officer and "crime" in officer
    assert len(maplayers.DEFAULT_LAYERS) <= 2


@pytest.mark.parametrize("layer", ["kde", "crime", "open:streetlights"])
def test_public_map_data_refuses_point_and_density_layers(demo, layer):
    con, settings = demo
    with pytest.raises(PrivacyError):
        maplayers.map_data(con, settings, None, "public", ["areas", layer])


def test_unknown_layer_is_an_error(demo):
    con, settings = demo
    with pytest.raises(ValueError, match="unknown map layer"):
        maplayers.map_data(con, settings, None, "officer", ["areas", "pins"])


def test_an_empty_period_says_when_the_latest_report_was(demo):
    con, settings = demo
    last = con.execute("SELECT max(reported_at) FROM concerns").fetchone()[0]
    assert isinstance(last, datetime)
    empty = Filter(since=date(2030, 1, 1), until=date(2030, 2, 1), unit=settings.count_unit)
    data = maplayers.map_data(con, settings, empty, "public", ["areas"])
    assert data.empty and data.latest == last.date()
    assert all(not p["count"] for _g, p in data.layers["areas"])
    full = maplayers.map_data(con, settings, None, "public", ["areas"])
    assert not full.empty and full.latest == last.date()
    # a window holding only a sensitive theme is empty for the public (sensitive themes are not counted)
    sensitive = con.execute("SELECT code FROM themes WHERE sensitive ORDER BY code LIMIT 1").fetchone()
    if sensitive:
        flt = Filter(themes=(sensitive[0],), unit=settings.count_unit)
        assert maplayers.map_data(con, settings, flt, "public", ["areas"]).empty


def test_drawn_only_keeps_the_drawn_cells(demo):
    con, settings = demo
    data = maplayers.map_data(con, settings, None, "officer", ["gistar", "emerging"])
    drawn = maplayers.drawn_only(data)
    assert all(p["gi_bin"] for _g, p in drawn.layers["gistar"])
    assert all(p["category"] in maplayers.EMERGING_CATEGORIES for _g, p in drawn.layers["emerging"])


def test_class_breaks_and_classes():
    breaks = maplayers.class_breaks([1, 2, 3, 10, 20, 40, 80, 200])
    assert breaks[-1] == 200 and breaks == sorted(set(breaks))
    assert [maplayers.class_of(c, breaks) for c in (1, 3, 4, 200, 500)] == [0, 0, 1, 4, 4]
    assert maplayers.class_breaks([0, 0]) == []
