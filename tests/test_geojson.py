"""The GeoJSON writer against the RFC 7946 rules (tests/geojson_rules.py), on awkward input."""

from __future__ import annotations

import json

import shapely

from koban_geo.store.geojson import feature_collection, write
from tests.geojson_rules import assert_rfc7946


def test_clockwise_polygons_with_holes_come_out_right_hand():
    shell = [(24.90, 60.10), (24.90, 60.20), (25.00, 60.20), (25.00, 60.10), (24.90, 60.10)]  # clockwise
    hole = [
        (24.93, 60.13),
        (24.97, 60.13),
        (24.97, 60.17),
        (24.93, 60.17),
        (24.93, 60.13),
    ]  # counter-clockwise
    polygon = shapely.Polygon(shell, [hole])
    multi = shapely.MultiPolygon([polygon, shapely.box(25.1, 60.1, 25.2, 60.2, ccw=False)])
    doc = feature_collection([(polygon, {"count": 12}), (multi, {"count": None})], {"audience": "public"})
    assert_rfc7946(doc, metadata_keys=("generated", "licence", "audience"))
    assert doc["bbox"] == [24.9, 60.1, 25.2, 60.2]


def test_coordinates_are_rounded_to_six_decimals_and_values_cleaned(tmp_path):
    import numpy as np

    point = shapely.Point(24.123456789, 60.987654321)
    doc = feature_collection([(point, {"z": np.float64("nan"), "n": np.int64(3)})], {})
    assert doc["features"][0]["geometry"]["coordinates"] == [24.123457, 60.987654]
    assert doc["features"][0]["properties"] == {"z": None, "n": 3}
    path = tmp_path / "out.geojson"
    write(path, doc)
    assert json.loads(path.read_text(encoding="utf-8"))["features"][0]["properties"]["n"] == 3
    assert not (tmp_path / "out.geojson.part").exists()


def test_the_rule_checker_catches_violations():
    import pytest

    good = feature_collection([(shapely.box(0, 0, 1, 1), {})], {})
    for broken in (
        {**good, "crs": {"type": "name"}},
        {
            **good,
            "features": [
                {
                    **good["features"][0],
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]],
                    },
                }
            ],
        },
        {
            **good,
            "features": [
                {**good["features"][0], "geometry": {"type": "Point", "coordinates": [0.1234567, 0]}}
            ],
        },
        {**good, "bbox": [0.5, 0.5, 1, 1]},
    ):
        with pytest.raises(AssertionError):
            assert_rfc7946(broken)
