"""Every bad file gets one sentence and exit 2, store unchanged (issue 13 items 8 and 10).

Each case once ended in a traceback with exit 1 ("stored with some rows rejected"): a 20 MB line with no header
(`_csv.Error`), JSON nested 200,000 deep (`RecursionError`), a `crs` of EPSG:999999 (`CRSError`), a backup
manifest with a string for a file entry or `schema_version: "six"` (AttributeError, ValueError), a backup into
a folder that takes no files; and a 3,000,000-vertex area took 788 s and 1.35 GB.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from koban_geo.cli.main import cli
from koban_geo.ingest import IngestError, ingest_file
from koban_geo.ingest.limits import FileLimits, check_json_depth, vertex_count
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from koban_geo.store.settings import fields as settings_fields
from tests.helpers import snapshot

DEEP = 200_000


def _run(settings: Settings, *args: str):
    return CliRunner().invoke(cli, ["--db", str(settings.db), *args])


def _unchanged(settings: Settings, before: dict) -> None:
    con = connect(settings.db)
    try:
        assert snapshot(con) == before
    finally:
        con.close()


@pytest.fixture
def before(settings: Settings) -> dict:
    con = connect(settings.db)
    try:
        return snapshot(con)
    finally:
        con.close()


def _point_fc(**extra: object) -> dict:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
               "properties": {"date": "2025-01-01", "theme": "noise"}}  # fmt: skip
    return {"type": "FeatureCollection", "features": [feature], **extra}


def _square(n: int, code: str = "A") -> dict:
    """An area whose ring has n + 1 vertices around a small circle-like shape in Helsinki."""
    import math

    ring = [[24.94 + 0.01 * math.cos(2 * math.pi * i / n), 60.17 + 0.005 * math.sin(2 * math.pi * i / n)]
            for i in range(n)]  # fmt: skip
    ring.append(ring[0])
    return {"type": "Feature", "properties": {"code": code, "name": code},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "name", "text", "says"),
    [
        ("concerns", "long.csv", "a" * 20_000_000, "long.csv:1: no line end in the first 256 KB"),
        ("concerns", "deep.geojson", "[" * DEEP + "]" * DEEP, "deep.geojson:1: JSON nested more than 64"),
        (
            "concerns",
            "deep.json",
            '{"service_requests": ' + "[" * DEEP + "]" * DEEP + "}",
            "deep.json:1: JSON nested more than 64",
        ),
        (
            "areas",
            "deep_areas.geojson",
            '{"type": "FeatureCollection", "features": ' + "[" * DEEP + "]" * DEEP + "}",
            "deep_areas.geojson:1: JSON nested more than 64",
        ),
        (
            "layer",
            "deep_layer.geojson",
            '{"type": "FeatureCollection",\n"features": [{"a": ' + "[" * DEEP + "]" * DEEP + "}]}",
            "deep_layer.geojson:2: JSON nested more than 64",
        ),
        (
            "concerns",
            "crs.geojson",
            json.dumps(
                _point_fc(crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}})
            ),
            "EPSG:999999 is not a coordinate system this system knows",
        ),
        (
            "areas",
            "crs_areas.geojson",
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [_square(10)],
                    "crs": {"type": "name", "properties": {"name": "EPSG:999999"}},
                }
            ),  # fmt: skip
            "EPSG:999999 is not a coordinate system this system knows",
        ),
    ],
)
def test_a_hostile_file_is_one_sentence_and_exit_2(
    settings: Settings, before: dict, tmp_path: Path, kind: str, name: str, text: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = _run(settings, "ingest", "--kind", kind, "--layer", "x", str(path))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert says in result.stderr
    assert "Traceback" not in result.output
    _unchanged(settings, before)


def test_json_depth_is_counted_outside_strings_only() -> None:
    limits = FileLimits(max_json_depth=8)
    ok = json.dumps({"a": [{"b": '[[[[[[[[[[[[[[[[{{{{{{{{ \\" [[[['}]}).encode()
    check_json_depth(ok, "f.json", limits)
    with pytest.raises(IngestError, match=r"^f.json:3: JSON nested more than 8 levels"):
        check_json_depth(b'{\n"x": "]]]]",\n' + b"[" * 9 + b"]" * 9 + b"}", "f.json", limits)


def test_an_area_over_the_vertex_limit_is_refused_before_any_geometry_work(
    settings: Settings, before: dict, tmp_path: Path
) -> None:
    path = tmp_path / "huge.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": [_square(10), _square(150_000, "B")]})
    )
    result = _run(settings, "ingest", "--kind", "areas", str(path))
    assert result.exit_code == 2, result.output
    assert "huge.geojson:feature 2: geometry: 150,001 vertices, over the limit of 100,000 per geometry" in (
        result.stderr
    )
    _unchanged(settings, before)


def test_vertex_limits_are_settings(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [_square(120), _square(120, "B")]}))
    con = connect(settings.db)
    try:
        tight = settings.replace(max_vertices_per_file=200)
        with pytest.raises(IngestError, match=r"feature 2: the file passes 200 vertices in all"):
            ingest_file(con, tight, path, kind="areas")
        layer = ingest_file(con, settings.replace(max_vertices_per_geometry=100), path,
                            kind="layer", layer="blocks")  # fmt: skip
        assert (layer.accepted, layer.rejected, layer.exit_code) == (0, 2, 2)
        assert "over the limit of 100 per geometry" in layer.errors[0]
        assert ingest_file(con, settings, path, kind="areas").accepted == 2
    finally:
        con.close()


def test_vertex_count_counts_positions_at_any_depth() -> None:
    assert vertex_count([1.0, 2.0]) == 1
    assert vertex_count([[[0, 0], [1, 0], [1, 1], [0, 0]]]) == 4
    assert vertex_count([[[[0, 0], [1, 0], [0, 0]]], [[[5, 5], [6, 5], [5, 5]]]]) == 6
    assert vertex_count("junk") == 0


def test_settings_name_the_limits() -> None:
    fields = settings_fields()
    for name in ("max_line_bytes", "max_json_depth", "max_vertices_per_geometry", "max_vertices_per_file"):
        assert name in fields
        assert getattr(FileLimits(), name) == fields[name].default


def test_a_line_over_the_limit_is_refused_by_line(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("id,date,lat,lon,theme,text\n1,2025-01-01,60.17,24.94,noise," + "x" * 30_000 + "\n")
    con = connect(settings.db)
    try:
        with pytest.raises(IngestError, match=r"^wide.csv:2: a record longer than 20,000 bytes"):
            ingest_file(con, settings.replace(max_line_bytes=20_000), path)
    finally:
        con.close()


@pytest.fixture
def backup_dir(settings: Settings, tmp_path: Path) -> Path:
    folder = tmp_path / "backup"
    assert _run(settings, "backup", str(folder)).exit_code == 0
    return folder


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("files", {"store.duckdb": "oops"}, "files: 'store.duckdb': expected"),
        ("schema_version", "six", "schema_version: expected a whole number, got 'six'"),
        ("tables", ["concerns"], "tables: expected names with whole-number counts"),
    ],
)
def test_a_damaged_manifest_is_one_sentence_and_exit_2(
    settings: Settings, backup_dir: Path, tmp_path: Path, field: str, value: object, says: str
) -> None:
    manifest = backup_dir / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc[field] = value
    manifest.write_text(json.dumps(doc))
    target = tmp_path / "restored.duckdb"
    result = _run(settings.replace(db=target), "restore", str(backup_dir))
    assert result.exit_code == 2, result.output
    assert says in result.stderr and "Traceback" not in result.output
    assert not target.exists()


def test_a_backup_into_a_folder_that_takes_no_files_is_exit_2(settings: Settings, tmp_path: Path) -> None:
    # /proc refuses new entries even to root (a read-only folder would not stop root)
    result = _run(settings, "backup", "/proc/koban-backup")
    assert result.exit_code == 2, result.output
    assert "cannot write into /proc" in result.stderr
    shutil.rmtree("/proc/koban-backup", ignore_errors=True)
