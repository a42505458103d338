"""Exports on the real demo store plus a meeting and problem cards: every kind x tier in GeoJSON, CSV and
GeoPackage, checked against the RFC 7946 rules, the public tiers' rules, each other, GDAL's readers
(geopandas, DuckDB ST_Read) and the audit log; and the printable meeting pack."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import click
import pytest
import shapely
import shapely.geometry
from click.testing import CliRunner

from koban_geo.community import problems as P
from koban_geo.outputs.export import ATTRIBUTION, KINDS, _guard, csv_safe, export
from koban_geo.outputs.meeting_pack import meeting_pack
from koban_geo.privacy.audience import PrivacyError
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from koban_geo.store.taxonomy import sensitive_codes, themes
from tests.geojson_rules import assert_rfc7946

AUDIENCES = ("public", "council", "officer")
AREAS = ["HEL-112", "HEL-119", "HEL-105"]
PAYLOAD = '<script>alert("owned")</script> Extra foot patrols at the metro entrance'
NOTE = "Working note: the dealer's flat is at Liisankatu 12 B 24, phone 040 123 4567"
TRIANGLE = "Commuters waiting for the last metro"
SENSITIVE_TITLE = "Abuse behind closed doors in the park flats"
ID_KEY = {"hotspots": "cell_id", "areas": "area_code", "priorities": "key", "problems": "problem_id"}
META_KEYS = (
    "generated",
    "licence",
    "attribution",
    "what",
    "audience",
    "filters",
    "privacy",
    "precision_note",
)
PRIVATE_KEYS = {"description", "text", "id", "source", "reported_at", "batch_id", "notes", "triangle_place",
                "triangle_victim", "triangle_offender", "concerns", "crime", "layers", "created_by"}  # fmt: skip
COUNT_KEY = re.compile(
    r"^(count|count_.*|.*_count|place_before|place_after|comparison_before|comparison_after)$"
)


@pytest.fixture(scope="module")
def world(demo_db, tmp_path_factory):
    """A copy of the demo store with a closed meeting (17 ballots) and four problem cards."""
    from koban_geo.community.meetings import close_meeting, create_meeting, open_meeting
    from koban_geo.community.proposals import propose_candidates
    from koban_geo.community.voting import cast_ballot

    folder = tmp_path_factory.mktemp("export")
    db = folder / "store.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db)
    con = connect(db)
    items = propose_candidates(con, settings, AREAS, date(2025, 10, 1), date(2026, 10, 1))
    meeting = create_meeting(con, title="Keskusta <autumn> & co", date=date(2026, 10, 1), areas=AREAS,
                             actor="anna.k", candidates=items)  # fmt: skip
    open_meeting(con, meeting.id, actor="anna.k")
    keys = [c.key for c in items]
    for i in range(12):
        cast_ballot(con, meeting.code, f"resident-device-{i:06d}", "resident",
                    {keys[i % len(keys)]: 2, keys[(3 * i + 1) % len(keys)]: 1})  # fmt: skip
    for i in range(5):
        cast_ballot(con, meeting.code, f"officer-device-{i:06d}", "officer", {keys[(i + 2) % len(keys)]: 2})
    close_meeting(con, meeting.id, actor="anna.k")

    hotspot = next(k for k in keys if k.startswith("hotspot:HEL-112"))
    drugs = P.create_problem(con, settings, actor="pc-1", candidate=(meeting.id, hotspot), themes=["drugs"])
    P.add_action(con, drugs, actor="pc-1", description=PAYLOAD, owner_org="Helsinki Police", due="2026-11-01")
    P.set_status(con, drugs, "analysis", actor="pc-1")
    P.set_analysis(con, drugs, actor="pc-1", notes=NOTE, victim=TRIANGLE, offender="dealers")
    P.set_status(con, drugs, "response", actor="pc-1")
    P.set_plan(con, drugs, actor="pc-1", response_start="2026-06-01", period_days=91, buffer_m=300)
    sensitive = P.create_problem(con, settings, actor="pc-1", title=SENSITIVE_TITLE, themes=["domestic"],
                                 area="HEL-105")  # fmt: skip
    P.add_action(
        con, sensitive, actor="pc-1", description="Referral to the shelter", owner_org="Social services"
    )
    P.set_status(con, sensitive, "analysis", actor="pc-1")
    P.set_status(con, sensitive, "response", actor="pc-1")
    bars = P.create_problem(con, settings, actor="pc-2", title="Noise by the bars", themes=["noise", "asb", "hate"],
                            area="HEL-119")  # fmt: skip
    P.add_action(con, bars, actor="pc-2", description="=HYPERLINK(\"http://x\") licensing visits",
                 owner_org="City licensing", due="2026-12-01", status="in_progress")  # fmt: skip
    P.set_plan(
        con, bars, actor="pc-2", response_start="2026-08-01", period_days=61, comparison_area="HEL-118"
    )
    for status in ("analysis", "response", "assessment"):
        P.set_status(con, bars, status, actor="pc-2")
    scanning = P.create_problem(con, settings, actor="pc-2", title="Litter in the park", themes=["litter"],
                                area="HEL-105")  # fmt: skip
    descriptions = [d for (d,) in con.execute(
        "SELECT DISTINCT description FROM concerns WHERE length(description) >= 20").fetchall()]  # fmt: skip
    yield {"con": con, "settings": settings, "meeting": meeting.id, "folder": folder, "descriptions": descriptions,
           "problems": {"drugs": drugs, "sensitive": sensitive, "bars": bars, "scanning": scanning}}  # fmt: skip
    con.close()


def _export_all(world, what: str, audience: str, folder: Path) -> dict[str, Any]:
    con, settings = world["con"], world["settings"]
    out = {}
    for suffix in ("geojson", "csv", "gpkg"):
        path = folder / f"{what}-{audience}.{suffix}"
        out[suffix] = export(con, settings, what, audience, path, actor="council-liaison",
                             meeting_id=world["meeting"])  # fmt: skip
    return out


def _walk(value: Any, key: str = ""):
    """(key, value) of every property, into lists of objects."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)


def assert_aggregate_only(doc: dict[str, Any], raw: str, world, k: int) -> None:
    """No point, no free text or record, no sensitive theme, no count under k: in the document and its bytes."""
    sensitive = sensitive_codes()
    sensitive_labels = {label for t in themes() if t.sensitive for label in t.labels.values()}
    for feature in doc["features"]:
        geometry = feature["geometry"]
        assert geometry is None or geometry["type"] in ("Polygon", "MultiPolygon"), geometry["type"]
        props = feature["properties"]
        assert not set(props) & PRIVATE_KEYS, set(props) & PRIVATE_KEYS
        for key, value in _walk(props):
            if COUNT_KEY.match(key) and isinstance(value, int) and not isinstance(value, bool):
                assert value == 0 or value >= k, (key, value)
            if key in ("theme", "themes") and isinstance(value, str):
                assert not {t.strip() for t in value.split(",")} & sensitive, value
            if key == "key" and isinstance(value, str):
                assert value.split(":")[-1] not in sensitive
    for text in world["descriptions"]:
        assert text not in raw, text
    for secret in (
        NOTE,
        "040 123 4567",
        TRIANGLE,
        SENSITIVE_TITLE,
        "Referral to the shelter",
        *sensitive_labels,
    ):
        assert secret not in raw, secret


def _expected_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(csv_safe(value))


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("what", KINDS)
def test_every_export_kind_for_every_tier(world, tmp_path, what, audience):
    reports = _export_all(world, what, audience, tmp_path)
    k = world["settings"].k_min
    path = reports["geojson"].path
    raw = path.read_text(encoding="utf-8")
    doc = json.loads(raw)
    assert_rfc7946(doc, metadata_keys=META_KEYS)
    meta = doc["koban"]
    assert (meta["what"], meta["audience"], meta["rows"]) == (what, audience, len(doc["features"]))
    assert meta["privacy"]["audience"] == audience and meta["privacy"]["k"] == k
    assert meta["attribution"] == ATTRIBUTION and "OpenStreetMap" in meta["attribution"]
    assert meta["licence"].startswith("ODbL-1.0")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", meta["generated"])
    assert doc["features"], f"{what} for {audience} is empty"
    ids = [f["properties"][ID_KEY[what]] for f in doc["features"]]
    assert len(set(ids)) == len(ids)
    if audience in ("public", "council"):
        assert_aggregate_only(doc, raw, world, k)
        for suffix in ("csv", "gpkg"):
            data = reports[suffix].path.read_bytes()
            for secret in (NOTE, TRIANGLE, SENSITIVE_TITLE):
                assert secret.encode() not in data
    _assert_csv_matches(doc, reports["csv"].path)
    _assert_gpkg_opens(doc, reports["gpkg"].path, what)
    _assert_audited(world["con"], reports, what, audience)


def _assert_csv_matches(doc: dict[str, Any], path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data  # UTF-8 BOM for Excel, RFC 4180 line ends
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    props = [f["properties"] for f in doc["features"]]
    assert header == list(props[0]) + ["centroid_lon", "centroid_lat", "geometry_wkt"]
    assert len(body) == len(props)
    for row, feature in zip(body, doc["features"], strict=True):
        got = dict(zip(header, row, strict=True))
        for key, value in feature["properties"].items():
            assert got[key] == _expected_cell(value), (key, got[key], value)
        if feature["geometry"] is None:
            assert got["geometry_wkt"] == got["centroid_lon"] == ""
            continue
        shape = shapely.geometry.shape(feature["geometry"])
        assert shapely.hausdorff_distance(shapely.from_wkt(got["geometry_wkt"]), shape) <= 1e-6
        assert abs(float(got["centroid_lon"]) - shape.centroid.x) <= 1e-6
        assert abs(float(got["centroid_lat"]) - shape.centroid.y) <= 1e-6
    sidecar = json.loads(path.with_name(path.name + "-metadata.json").read_text(encoding="utf-8"))
    assert sidecar["url"] == path.name and sidecar["koban"]["audience"] == doc["koban"]["audience"]


def _assert_gpkg_opens(doc: dict[str, Any], path: Path, what: str) -> None:
    import pyogrio

    layers = dict(pyogrio.list_layers(path))
    assert what in layers and "koban_metadata" in layers
    info = pyogrio.read_info(path, layer=what)
    assert info["features"] == len(doc["features"]) and info["crs"] == "EPSG:4326"
    description = json.loads(info["layer_metadata"]["DESCRIPTION"])
    assert description["audience"] == doc["koban"]["audience"] and description["rows"] == len(doc["features"])
    table = pyogrio.read_dataframe(path, layer="koban_metadata")
    meta = {k: json.loads(v) for k, v in zip(table["key"], table["value"], strict=True)}
    assert meta["privacy"] == doc["koban"]["privacy"] and meta["licence"] == doc["koban"]["licence"]


def _assert_audited(con, reports: dict[str, Any], what: str, audience: str) -> None:
    rows = con.execute(
        "SELECT actor, detail FROM audit_log WHERE action = 'export' ORDER BY id DESC LIMIT 3"
    ).fetchall()
    details = {json.loads(d)["file"]: (actor, json.loads(d)) for actor, d in rows}
    for suffix, report in reports.items():
        actor, detail = details[report.path.name]
        assert actor == "council-liaison"
        assert (detail["what"], detail["audience"], detail["format"], detail["rows"]) == (
            what, audience, suffix, report.rows)  # fmt: skip
        assert "filters" in detail and "themes" in detail["filters"]


# ---------------------------------------------------------------------------------------------------------
# A council export read back by GDAL: geopandas and DuckDB ST_Read see the same features
# ---------------------------------------------------------------------------------------------------------


def _same(expected: Any, got: Any) -> bool:
    if (isinstance(got, float) and math.isnan(got)) or str(got) in ("NaT", "<NA>"):
        got = None
    if expected is None:
        return got is None
    if isinstance(expected, (list, dict)):
        return (json.loads(got) if isinstance(got, str) else got) == expected
    if isinstance(expected, bool):
        return bool(got) == expected
    if isinstance(expected, (int, float)):
        return got is not None and abs(float(got) - expected) <= 1e-9
    if hasattr(got, "isoformat") and re.fullmatch(r"\d{4}-\d\d-\d\d", expected):  # GDAL reads dates as dates
        return got.isoformat()[:10] == expected
    return got == expected


@pytest.mark.parametrize("what", KINDS)
def test_a_council_export_reads_the_same_in_geopandas_and_duckdb(world, tmp_path, what):
    import geopandas

    reports = _export_all(world, what, "council", tmp_path)
    doc = json.loads(reports["geojson"].path.read_text(encoding="utf-8"))
    expected = {f["properties"][ID_KEY[what]]: f for f in doc["features"]}
    reader = connect(":memory:")
    try:
        for suffix in ("geojson", "gpkg"):
            path = reports[suffix].path
            frame = geopandas.read_file(path, layer=what) if suffix == "gpkg" else geopandas.read_file(path)
            cursor = reader.execute(
                "SELECT * EXCLUDE (geom), ST_AsWKB(geom) AS wkb FROM ST_Read(?)", [str(path)]
            )
            names = [d[0] for d in cursor.description]
            duck = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            for source, records in (("geopandas", frame.to_dict("records")), ("duckdb", duck)):
                assert len(records) == len(expected), (source, suffix)
                for record in records:
                    feature = expected[
                        record[ID_KEY[what]] if what != "problems" else int(record[ID_KEY[what]])
                    ]
                    for key, value in feature["properties"].items():
                        assert _same(value, record[key]), (source, suffix, key, value, record[key])
                    geom = record["geometry"] if source == "geopandas" else (
                        shapely.from_wkb(bytes(record["wkb"])) if record["wkb"] is not None else None)  # fmt: skip
                    if feature["geometry"] is None:
                        assert geom is None or geom.is_empty
                    else:
                        assert (
                            shapely.hausdorff_distance(geom, shapely.geometry.shape(feature["geometry"]))
                            <= 1e-6
                        )
    finally:
        reader.close()


# ---------------------------------------------------------------------------------------------------------
# What each tier gets from the problem cards and the priorities
# ---------------------------------------------------------------------------------------------------------


def test_problem_cards_per_tier(world, tmp_path):
    ids = world["problems"]
    docs = {}
    for audience in AUDIENCES:
        path = tmp_path / f"p-{audience}.geojson"
        export(world["con"], world["settings"], "problems", audience, path, actor="t")
        docs[audience] = {
            f["properties"]["problem_id"]: f["properties"] for f in json.loads(path.read_text())["features"]
        }
    # public: cards that reached the response stage, never a sensitive-only one; no numbers, no notes
    assert set(docs["public"]) == {ids["drugs"], ids["bars"]}
    assert set(docs["council"]) == {ids["drugs"], ids["bars"], ids["scanning"]}
    assert set(docs["officer"]) == set(ids.values())
    public = docs["public"][ids["drugs"]]
    assert public["actions"] == [{"description": PAYLOAD, "owner_org": "Helsinki Police", "due": "2026-11-01",
                                  "status": "planned"}]  # fmt: skip
    assert "count" not in public and "place_before" not in public and public["verdict"]
    assert docs["public"][ids["bars"]]["themes"] == "noise, asb"  # the hate theme is not named
    council = docs["council"][ids["bars"]]
    assert {"count", "place_before", "change_pct", "relative_effect", "months"} <= set(council)
    assert "effect_low" not in council and "notes" not in council
    officer = docs["officer"][ids["drugs"]]
    assert officer["notes"] == "Working note: the dealer's flat is at [ADDRESS], phone [PHONE]"
    assert officer["triangle_victim"] == TRIANGLE and officer["concerns"]
    assert docs["officer"][ids["bars"]]["sensitive_themes"] == "hate"


def test_priorities_hide_small_groups_from_public_tiers(world, tmp_path):
    from koban_geo.community.meetings import close_meeting, create_meeting, open_meeting, theme_candidate
    from koban_geo.community.voting import cast_ballot

    con, settings = world["con"], world["settings"]
    meeting = create_meeting(con, title="Small", date=date(2026, 10, 2), areas=["HEL-101"], actor="anna.k",
                             candidates=[theme_candidate("noise"), theme_candidate("litter")])  # fmt: skip
    open_meeting(con, meeting.id, actor="anna.k")
    for i in range(6):
        cast_ballot(
            con, meeting.code, f"small-resident-{i:06d}", "resident", {"theme:noise": 2, "theme:litter": 1}
        )
    cast_ballot(con, meeting.code, "small-partner-000001", "partner", {"theme:litter": 2})
    close_meeting(con, meeting.id, actor="anna.k")
    docs = {}
    for audience in ("public", "officer"):
        path = tmp_path / f"small-{audience}.geojson"
        export(con, settings, "priorities", audience, path, actor="t", meeting_id=meeting.id)
        docs[audience] = json.loads(path.read_text())
    public = {f["properties"]["key"]: f["properties"] for f in docs["public"]["features"]}
    assert docs["public"]["koban"]["meeting"]["group_figures_hidden"] is True  # one partner voted
    # one partner is under k; the residents are hidden too, else 7 - 6 would give the partner away
    assert docs["public"]["koban"]["meeting"]["participants"] == {
        "resident": None,
        "officer": 0,
        "partner": None,
    }
    assert abs(docs["public"]["koban"]["meeting"]["ballots"] - 7) <= 2  # cell key noise (privacy.cellkey)
    assert all(p["resident_pct"] is None and p["partner_rank"] is None for p in public.values())
    assert public["theme:noise"]["rank"] == 2 and public["theme:litter"]["rank"] == 1
    officer = {f["properties"]["key"]: f["properties"] for f in docs["officer"]["features"]}
    assert officer["theme:litter"]["partner_pct"] == 100.0 and officer["theme:noise"]["resident_points"] == 12


def test_the_last_check_refuses_what_a_public_export_must_not_hold(world):
    from koban_geo.privacy.audience import Policy

    policy = Policy.for_audience("council", world["settings"])
    square = shapely.box(0, 0, 1, 1)
    for rows in (
        [(shapely.Point(24.9, 60.1), {"count": 12})],
        [(square, {"count": 3})],
        [(square, {"themes": "noise, domestic"})],
        [(square, {"notes": "x"})],
        [(square, {"description": "x"})],
        [(square, {"top_themes": [{"theme": "noise", "count": 2}]})],
        [(square, {"top_themes": [{"theme": "hate", "count": 20}]})],
    ):
        with pytest.raises(PrivacyError):
            _guard(rows, policy)
    _guard([(square, {"count": 0}), (square, {"count": None}), (square, {"count": 5})], policy)


def test_text_that_a_spreadsheet_would_run_is_defused(world, tmp_path):
    path = tmp_path / "p.csv"
    export(world["con"], world["settings"], "problems", "council", path, actor="t")
    text = path.read_text(encoding="utf-8-sig")
    assert "=HYPERLINK" in text and ",=HYPERLINK" not in text and ',"=HYPERLINK' not in text
    assert (
        csv_safe("=1+1") == "'=1+1"
        and csv_safe("-3") == "'-3"
        and csv_safe(-3) == -3
        and csv_safe("a=b") == "a=b"
    )


def test_format_and_audience_errors(world, tmp_path):
    con, settings = world["con"], world["settings"]
    with pytest.raises(ValueError, match="cannot tell the format"):
        export(con, settings, "areas", "public", tmp_path / "areas.txt", actor="t")
    with pytest.raises(ValueError, match="meeting"):
        export(con, settings, "priorities", "public", tmp_path / "p.geojson", actor="t")
    with pytest.raises(ValueError, match="actor"):
        export(con, settings, "areas", "public", tmp_path / "a.geojson", actor="")
    report = export(con, settings, "areas", "public", tmp_path / "areas.data", "csv", actor="t")
    assert report.format == "csv" and report.path.read_bytes().startswith(b"\xef\xbb\xbf")


# ---------------------------------------------------------------------------------------------------------
# The meeting pack
# ---------------------------------------------------------------------------------------------------------


def test_the_meeting_pack_escapes_every_data_string(world, tmp_path):
    con, settings = world["con"], world["settings"]
    path = meeting_pack(con, settings, world["meeting"], "en", tmp_path / "pack.html", actor="anna.k")
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; Extra foot patrols" in html
    assert "Keskusta &lt;autumn&gt; &amp; co" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "size: A4" in html and "@page" in html
    assert html.count("<svg") >= 2 and 'class="map"' in html and "<path d=" in html
    assert "Agreed actions" in html and "Helsinki Police" in html and "2026-11-01" in html
    assert "Hot spot near Rautatientori" in html and "All groups together" in html
    assert "fewer than 5 reports" in html  # the precision note
    assert SENSITIVE_TITLE not in html and NOTE not in html and TRIANGLE not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "").split("<footer>")[0]  # no network
    row = con.execute(
        "SELECT actor, detail FROM audit_log WHERE action = 'export' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row[0] == "anna.k" and json.loads(row[1])["what"] == "meeting_pack"


@pytest.mark.parametrize(("lang", "heading", "theme"), [("fi", "Kokousmateriaali", "Huumeet"),
                                                        ("nl", "Vergaderstukken", "Drugs"),
                                                        ("fr", "Dossier de réunion", "Drogue")])  # fmt: skip
def test_the_meeting_pack_speaks_the_meetings_language(world, tmp_path, lang, heading, theme):
    html = meeting_pack(
        world["con"], world["settings"], world["meeting"], lang, tmp_path / "p.html"
    ).read_text()
    assert f'<html lang="{lang}">' in html and heading in html and theme in html


def test_the_fixed_headings_exist_in_every_language():
    from koban_geo.outputs import meeting_pack as pack
    from koban_geo.store.i18n import LANGUAGES, messages

    english = pack._words("en")
    for lang in LANGUAGES[1:]:  # each heading has a translation in the catalogue (context "meeting pack")
        assert set(pack._words(lang)) == set(english)
        assert all(messages(lang).get(f"meeting pack\x04{text}") for text in english.values()), lang


# ---------------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------------


def _cli(settings) -> click.Group:
    from koban_geo.cli.export import export_command
    from koban_geo.cli.main import _Context

    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = _Context(settings.db)

    root.add_command(export_command)
    return root


def test_the_export_command(con, settings, tmp_path):
    from tests.test_problems import PLACE, build_store

    build_store(con, settings, tmp_path)
    pid = P.create_problem(con, settings, actor="pc-1", title="Noise", themes=["noise"], place=PLACE)
    con.close()
    runner = CliRunner()
    out = tmp_path / "hot.geojson"
    result = runner.invoke(_cli(settings), ["export", "--what", "hotspots", "--audience", "council", "--out", str(out),
                                            "--themes", "noise,drugs", "--since", "2025-01-01", "--actor", "liaison"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"to {out} (geojson)" in result.output
    doc = json.loads(out.read_text())
    filters = doc["koban"]["filters"]
    assert filters["themes"] == ["noise", "drugs"] and filters["since"].startswith("2025-01-01")
    officer = runner.invoke(_cli(settings), ["export", "--what", "problems", "--audience", "officer",
                                             "--out", str(tmp_path / "p.gpkg")])  # fmt: skip
    assert officer.exit_code == 0, officer.output
    flat = runner.invoke(_cli(settings), ["export", "--what", "areas", "--audience", "council",
                                          "--out", str(tmp_path / "areas.csv"), "--no-wkt"])  # fmt: skip
    assert flat.exit_code == 0, flat.output
    header = (tmp_path / "areas.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header[-2:] == ["centroid_lon", "centroid_lat"] and "area_code" in header
    bad = runner.invoke(
        _cli(settings), ["export", "--what", "priorities", "--out", str(tmp_path / "x.geojson")]
    )
    assert bad.exit_code == 2 and "--meeting" in bad.output
    unknown = runner.invoke(_cli(settings), ["export", "--what", "areas", "--out", str(tmp_path / "x.shp")])
    assert unknown.exit_code == 2 and "cannot tell the format" in unknown.output
    check = connect(settings.db, read_only=True)
    try:
        actors = [
            a
            for (a,) in check.execute(
                "SELECT actor FROM audit_log WHERE action = 'export' ORDER BY id"
            ).fetchall()
        ]
    finally:
        check.close()
    assert actors[0] == "liaison" and len(actors) == 3 and pid == 1
