"""The GeoJSON writer against the RFC 7946 rules (tests/geojson_rules.py), on awkward input."""

from __future__ import annotations

import json

import pytest
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


def test_the_streaming_writer_writes_what_feature_collection_builds(tmp_path):
    """write_rows builds the file's text from whole columns; it must equal the dict route on awkward input."""
    import numpy as np

    from koban_geo.store.geojson import write_rows

    rows = [
        (shapely.Polygon([(24.9, 60.1, 5.0), (24.9, 60.2, 5.0), (25.0, 60.2, 5.0)]), {"n": np.int64(3),
         "label": 'hot "spot" 100 % ä €', "z": 1.23456789, "flag": True, "extra": [1, {"a": None}]}),
        (None, {"n": 0, "label": None, "z": float("nan"), "flag": False, "extra": None}),
        (shapely.Point(24.1234564999, 60.0000005), {"n": -2, "label": "=1+1", "z": 1e-7, "flag": None,
         "extra": {"k": "v"}}),
        (shapely.Polygon(), {"n": 1, "label": "", "z": -0.0, "flag": True, "extra": []}),
    ]  # fmt: skip
    path = tmp_path / "rows.geojson"
    assert write_rows(path, rows, {"audience": "analyst"}) == 4
    written = json.loads(path.read_text(encoding="utf-8"))
    built = feature_collection(rows, {"audience": "analyst"})
    for doc in (written, built):
        doc["koban"].pop("generated")
    assert written == built
    assert_rfc7946(written, metadata_keys=("licence", "audience"))
    first = written["features"][0]
    assert first["geometry"]["coordinates"][0][1] == [25.0, 60.2]  # counter-clockwise, 2D
    assert first["properties"]["n"] == 3 and written["features"][1]["properties"]["z"] is None
    assert written["features"][3]["geometry"] is None  # an empty geometry is written as null


def test_square_rings_are_written_as_their_polygons_would_be(tmp_path, monkeypatch):
    """Rows whose geometries are square rings (hotspots(rings=True)) skip shapely: the file parses to what
    the same rows with polygons give, bbox and metadata included; a clockwise or broken ring falls back."""
    import numpy as np

    from koban_geo.analysis.grid import make_square_grid
    from koban_geo.store import geojson
    from koban_geo.store.geojson import write_rows

    grid = make_square_grid(np.array([2500, 2501, 2503, -7]), np.array([66700, 66700, 66702, 66699]), 100,
                            "EPSG:32635")  # fmt: skip
    rings = grid.rings()
    assert rings.shape == (4, 5, 2) and np.array_equal(rings[:, 0], rings[:, 4])
    props = [{"count": i, "gi_z": 0.1234567891 * i, "label": "Hot spot - 99% confidence"} for i in range(4)]

    def written(geoms: list, name: str) -> dict:
        path = tmp_path / name
        assert write_rows(path, list(zip(geoms, props, strict=True)), {"audience": "analyst"}) == 4
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["koban"].pop("generated")
        return doc

    with monkeypatch.context() as patch:  # the rings' own path: no shapely polygon is made
        patch.setattr(geojson, "write_columns", lambda *a, **k: pytest.fail("fell back to polygons"))
        fast = written(list(rings), "rings.geojson")
    assert fast == written(list(grid.polygons()), "polygons.geojson")
    assert_rfc7946(fast, metadata_keys=("licence", "audience"))
    clockwise = [r[::-1].copy() for r in rings]  # the fallback orients them as write_columns always did
    assert written(clockwise, "clockwise.geojson") == fast


def test_column_rows_read_like_a_list_and_write_the_same_file(tmp_path):
    """ColumnRows (the analysts' Gi* cells kept as columns) are the rows they stand for, and write_rows gives
    the same file from them as from the list, for squares given as rings and for shapely polygons."""
    import numpy as np

    from koban_geo.store.geojson import ColumnRows, write_rows

    rings = np.array(
        [
            [[x, 60.0], [x + 0.01, 60.0], [x + 0.01, 60.01], [x, 60.01], [x, 60.0]]
            for x in (24.9, 24.91, 24.92)
        ]
    )
    columns = {"count": [3, 0, 12], "gi_z": [1.5, -0.25, 2.75], "label": ["a", "b", "c"]}
    rows = ColumnRows(rings, columns)
    as_list = [(rings[i], {"count": columns["count"][i], "gi_z": columns["gi_z"][i], "label": columns["label"][i]})
               for i in range(3)]  # fmt: skip
    assert (
        len(rows) == 3 and rows[-1][1] == as_list[-1][1] and [p for _g, p in rows] == [p for _g, p in as_list]
    )
    assert [p["label"] for _g, p in rows[1:]] == ["b", "c"]
    with pytest.raises(IndexError):
        rows[3]
    with pytest.raises(ValueError):
        ColumnRows(rings, {"count": [1, 2]})
    meta = {"generated_by": "test"}
    for geoms in (rings, shapely.polygons(rings)):
        a, b = tmp_path / "columns.geojson", tmp_path / "list.geojson"
        write_rows(a, ColumnRows(geoms, columns), meta)
        write_rows(b, [(g, p) for g, (_r, p) in zip(geoms, as_list, strict=True)], meta)
        doc_a, doc_b = (json.loads(p.read_text()) for p in (a, b))
        doc_a["koban"].pop("generated"), doc_b["koban"].pop("generated")
        assert doc_a == doc_b and len(doc_a["features"]) == 3
