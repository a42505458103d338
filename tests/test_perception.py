"""Perception against recorded crime: constructed areas with known flags, rates, shares and the window."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from koban_geo.analysis.perception import COLUMNS, FLAGS, perception_vs_crime
from tests.helpers import add_concerns as store_concerns

# Five 0.018° x 0.009° squares (about 1 km x 1 km) in a row across central Helsinki.
AREAS = {f"A{i}": 24.90 + 0.018 * (i - 1) for i in range(1, 6)}
POPULATION = {"A1": 10_000, "A2": 10_000, "A4": 10_000, "A5": 1_000}  # A3 has no population figure


def _square(x0: float) -> str:
    x1, y0, y1 = x0 + 0.018, 60.160, 60.169
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


def add_concerns(con, area, n, theme, start=datetime(2025, 3, 1, 12)):
    rows = pd.DataFrame(
        {
            "id": [f"{area}-{theme}-{start:%Y%m%d}-{i}" for i in range(n)],
            "reported_at": [start + timedelta(hours=i) for i in range(n)],
            "theme": theme,
            "area_code": area,
            "lon": AREAS[area] + 0.009,
            "lat": 60.1645,
        }
    )
    store_concerns(con, rows)


def add_crime(con, area, n, crime_type, theme, month=date(2025, 3, 1)):
    con.execute(
        """INSERT INTO crime (month, crime_type, theme, geom, area_code, batch_id)
        SELECT $month, $crime_type, $theme, ST_Point($lon, 60.1645), $area, 1 FROM range($n)""",
        {
            "month": month,
            "crime_type": crime_type,
            "theme": theme,
            "lon": AREAS[area] + 0.009,
            "area": area,
            "n": n,
        },
    )


@pytest.fixture
def city(con):
    for code, x0 in AREAS.items():
        con.execute(
            "INSERT INTO areas (code, name, geom, batch_id) VALUES ($code, $name, ST_GeomFromText($wkt), 1)",
            {"code": code, "name": f"Area {code}", "wkt": _square(x0)},
        )
    for code, people in POPULATION.items():
        con.execute(
            "INSERT INTO area_stats (area_code, period, indicator, value, batch_id) VALUES ($code, '2023', 'population', $old, 1), ($code, '2024', 'population', $v, 1)",
            {"code": code, "old": people * 2, "v": people},
        )
    # family asb (themes asb, noise; police.uk 'Anti-social behaviour' and 'Public order')
    add_concerns(con, "A1", 40, "noise")  # many concerns, no recorded crime
    add_crime(con, "A2", 40, "Anti-social behaviour", "asb")  # crime, no concerns
    add_concerns(con, "A3", 2, "asb")  # too little either way
    add_crime(con, "A3", 1, "Public order", "asb")
    add_concerns(con, "A4", 20, "asb")  # the city's mix, no more than its share
    add_crime(con, "A4", 20, "Anti-social behaviour", "asb")
    add_concerns(con, "A5", 60, "noise")  # the city's mix, far more than its size suggests
    add_crime(con, "A5", 60, "Public order", "asb")
    # outside the window (2025): would turn A2 and A1 around if counted
    add_concerns(con, "A2", 50, "noise", start=datetime(2024, 6, 1, 12))
    add_crime(con, "A1", 50, "Anti-social behaviour", "asb", month=date(2024, 6, 1))
    # sensitive themes never count; environment has no police.uk category
    add_concerns(con, "A2", 40, "domestic")
    add_concerns(con, "A1", 10, "litter")
    return con


def asb(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["family"] == "asb"].set_index("area_code")


def test_flags_on_constructed_areas(city):
    frame = perception_vs_crime(city, "2025-01-01", "2026-01-01")
    assert list(frame.columns) == COLUMNS
    assert set(frame["flag"]) <= set(FLAGS)
    rows = asb(frame)
    assert rows["flag"].to_dict() == {
        "A1": "concern_without_crime",
        "A2": "crime_without_concern",
        "A3": "too_few",
        "A4": "neither",
        "A5": "both",
    }
    assert rows.loc["A1", ["concerns", "crime"]].tolist() == [40, 0]
    assert rows.loc["A2", ["concerns", "crime"]].tolist() == [0, 40]
    assert rows.loc["A1", "p_concern_excess"] < 0.01 and rows.loc["A2", "p_crime_excess"] < 0.01
    assert "40 concerns and 0 recorded crimes" in rows.loc["A1", "reason"]
    assert "too few to tell" in rows.loc["A3", "reason"]
    assert rows["reason"].str.len().min() > 40


def test_rates_shares_and_units(city):
    rows = asb(perception_vs_crime(city, date(2025, 1, 1), date(2026, 1, 1)))
    assert rows.loc["A1", "population"] == 10_000  # the latest period's figure
    assert rows.loc["A1", "rate_unit"] == "per 1,000 residents"
    assert rows.loc["A1", "concern_rate"] == pytest.approx(4.0)
    assert rows.loc["A5", "crime_rate"] == pytest.approx(60.0)
    assert rows.loc["A3", "rate_unit"] == "per km²"
    assert rows.loc["A3", "area_km2"] == pytest.approx(1.0, rel=0.1)
    assert rows.loc["A3", "concern_rate"] == pytest.approx(2 / rows.loc["A3", "area_km2"])
    assert rows["concern_share"].sum() == pytest.approx(1.0)
    assert rows.loc["A2", "crime_share"] == pytest.approx(40 / 121)
    assert rows.loc["A1", "expected_concerns"] == pytest.approx(40 * 122 / 243)


def test_sensitive_family_left_out_and_families_without_crime_are_too_few(city):
    frame = perception_vs_crime(city, "2025-01-01", "2026-01-01")
    assert "sensitive" not in set(frame["family"])
    assert asb(frame).loc["A2", "concerns"] == 0  # 40 domestic-abuse concerns are not counted anywhere
    environment = frame[frame["family"] == "environment"]
    assert set(environment["flag"]) == {"too_few"}
    assert environment["reason"].str.contains("no recorded crime of this family").all()
    assert len(frame) == 5 * frame["family"].nunique()  # every area x family, zeros included


def test_the_window_moves_the_flags(city):
    everything = asb(perception_vs_crime(city, None, None, count_unit="reports"))
    assert everything.loc["A1", ["concerns", "crime"]].tolist() == [40, 50]
    assert everything.loc["A2", ["concerns", "crime"]].tolist() == [50, 40]
    # a window inside March 2025 still counts March's police.uk month (it overlaps)
    march = asb(perception_vs_crime(city, "2025-03-01", "2025-03-02"))
    assert march.loc["A2", "crime"] == 40 and march.loc["A1", "concerns"] == 12  # reports 12:00..23:00


def test_min_expected_decides_too_few(city):
    strict = asb(perception_vs_crime(city, "2025-01-01", "2026-01-01", min_expected=25))
    assert strict.loc["A1", "flag"] == "too_few"  # 40 events: about 20 expected on each side
    assert strict.loc["A5", "flag"] == "both"


def test_empty_store_gives_an_empty_table(con):
    frame = perception_vs_crime(con, None, None)
    assert frame.empty and list(frame.columns) == COLUMNS
