"""Class breaks have one owner (koban_geo/outputs/classes.py): the paper pack and the screen's map shade an
area in the same class for the same counts."""

from __future__ import annotations

import re
from typing import Any

import pytest
import shapely

from koban_geo.outputs import classes, meeting_pack
from koban_geo.outputs.classes import class_breaks, class_of

# Counts where two quantile rules disagree: nearest-rank quintiles (the pack's old rule, breaks [2, 4, 20, 80,
# 200]) put 3 in another class than interpolated quintiles rounded up (the map's, [3, 6, 19, 57, 200]).
COUNTS: list[int | None] = [1, 2, 3, 4, 10, 20, 40, 80, 200, None, 0]


def _squares(counts: list[int | None]) -> list[tuple[str, str, shapely.Geometry, int | None]]:
    return [
        (f"A{i}", f"Area {i}", shapely.box(24.90 + 0.01 * i, 60.15, 24.905 + 0.01 * i, 60.155), count)
        for i, count in enumerate(counts)
    ]


def pack_classes(counts: list[int | None]) -> list[int | str]:
    """The class of each area as the meeting pack's SVG map fills it (its shade's index - 1)."""
    svg = meeting_pack._map(_squares(counts), [], [], "en", 5)
    fills = re.findall(r'<path d="[^"]*" fill="([^"]+)" fill-rule', svg)
    assert len(fills) == len(counts)
    return [meeting_pack.SHADES.index(f) - 1 if f in meeting_pack.SHADES else f for f in fills]


def screen_classes(counts: list[int | None], monkeypatch: pytest.MonkeyPatch) -> list[int | str]:
    """The class of each area as the dashboard's choropleth colours it."""
    from ui.map import draw
    from ui.map.style import AREA_COLOURS

    seen: list[dict[str, Any]] = []
    made = draw.shape_parts
    monkeypatch.setattr(draw, "shape_parts", lambda geoms, props, **kw: (seen.extend(props), made(geoms, props, **kw))[1])  # fmt: skip
    rows = [(geom, {"area_code": code, "name": name, "count": c}) for code, name, geom, c in _squares(counts)]
    draw.add_areas(None, rows, "en", k=5)
    colours = [p["style"]["fillColor"] for p in seen]
    return [AREA_COLOURS.index(c) if c in AREA_COLOURS else c for c in colours]


def test_pack_and_screen_give_an_area_the_same_class(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = [c for c in COUNTS if c]
    expected = [class_of(c, class_breaks(shown)) for c in shown]
    assert class_breaks(shown) == [3, 6, 19, 57, 200]  # interpolated quintiles, rounded up
    assert expected == [0, 0, 0, 1, 2, 3, 3, 4, 4]
    pack = pack_classes(COUNTS)
    screen = screen_classes(COUNTS, monkeypatch)
    assert pack[: len(shown)] == screen[: len(shown)] == expected
    assert pack[-2:] == ["url(#hidden)", "#ffffff"]  # hidden hatched, zero white: not a class


def test_one_count_is_the_top_and_only_class(monkeypatch: pytest.MonkeyPatch) -> None:
    assert class_breaks([7, 0]) == [7]
    assert pack_classes([7]) == screen_classes([7], monkeypatch) == [0]


def test_no_copy_of_the_rule_is_left() -> None:
    from koban_geo.outputs import maplayers

    assert maplayers.class_breaks is classes.class_breaks and maplayers.class_of is classes.class_of
    assert not hasattr(meeting_pack, "_breaks")
