"""The text of a map layer of many shapes (what `KobanMap.shapes` in map.js reads), made without folium: the
drawing module keeps it per cached MapData (draw.prepared), the Shapes element puts it in the page."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ShapeParts:
    """The text of a Shapes layer (its script's arguments), made once by `shape_parts`: a cached map's layer
    is drawn again on every rerun from the same parts (draw.py keeps them per cached MapData)."""

    features: int
    options: str
    styles: str
    properties: str
    lines: str
    geometries: str


def shape_parts(geoms: Sequence[Any], props: Sequence[dict[str, Any]], *, interactive: bool = True,
                attribution: str | None = None) -> ShapeParts:  # fmt: skip
    """Geometries and their properties (style, 'tip') as the text `KobanMap.shapes` reads (see Shapes)."""
    import shapely
    from jinja2.utils import htmlsafe_json_dumps

    options = str(htmlsafe_json_dumps({"interactive": interactive, "attribution": attribution}))
    styles: dict[Any, int] = {}
    table: list[Any] = []
    lines: dict[str, int] = {}
    rows = []
    for given in props:
        row = dict(given)
        style = row.pop("style", {})
        try:  # a few distinct styles for thousands of features: a tuple key is cheaper than JSON
            key: Any = tuple(sorted(style.items()))
            hash(key)
        except TypeError:  # a list or a dict as a value
            key = json.dumps(style, sort_keys=True)
        if key not in styles:
            styles[key] = len(table)
            table.append(style)
        row["s"] = styles[key]
        tip = row.pop("tip", None)
        if tip:
            row["t"] = [lines.setdefault(line, len(lines)) for line in str(tip).split("<br>")]
        rows.append(row)
    if lines and not all("t" in row for row in rows):
        raise ValueError("a layer's features have tooltips all or none (one tooltip per layer)")
    if len(geoms) != len(rows):
        raise ValueError("one set of properties per geometry")

    def made(geometries: str) -> ShapeParts:
        return ShapeParts(features=len(rows), options=options, styles=str(htmlsafe_json_dumps(table)),
                          properties=str(htmlsafe_json_dumps(rows)), lines=str(htmlsafe_json_dumps(list(lines))),
                          geometries=geometries)  # fmt: skip

    if not len(geoms):
        return made("[]")
    rounded = shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.round(xy, 6))
    # GEOS writes no spaces; written as json.dumps would ('"type": "Polygon"'), for readers of the page
    texts = (
        t.replace('{"type":"', '{"type": "').replace('","coordinates":', '", "coordinates": ')
        for t in shapely.to_geojson(rounded)
    )
    return made("[" + ", ".join(texts) + "]")
