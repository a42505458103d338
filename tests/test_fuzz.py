"""Hostile input: whatever a file holds, ingest stores a batch or raises IngestError, and an error changes
nothing. The scrubber and the classifier take any text.

Bounded for CI (the whole file runs in well under a minute); `HYPOTHESIS_PROFILE=explore pytest
tests/test_fuzz.py` searches afresh with the profile's many more examples (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from koban_geo.ingest import IngestError, ingest_file
from koban_geo.ingest.classify import classify_texts
from koban_geo.ingest.opendata import POLICEUK_COLUMNS
from koban_geo.ingest.readers import MAX_JSON_BYTES
from koban_geo.privacy.scrub import scrub_text, scrub_texts
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from tests.helpers import snapshot


def examples(n: int) -> int:
    """n examples by default; the loaded profile's number under HYPOTHESIS_PROFILE=explore."""
    return (
        n if os.environ.get("HYPOTHESIS_PROFILE", "default") == "default" else settings.default.max_examples
    )


FUZZ = {"suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large], "deadline": None}

HOSTILE = (
    "'; DROP TABLE concerns; --",
    '"; DROP TABLE concerns; --',
    "Robert'); DELETE FROM audit_log WHERE ('1'='1",
    "$source",
    "$1",
    "?",
    "%s%n",
    "{}",
    "NULL",
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[31mred",
    "\x07\x08\x0b\x0c",
    "\u202e\u2066evil\u2069",
    "\u200f\u200e",
    "\ufeff",
    "\u2028\u2029",
    "😀🚓👮‍♀️",
    "\r\n",
    "\n",
    "\r",
    "\t",
    '"',
    '""',
    "'",
    ",",
    ";",
    "|",
    "\\",
    "\\N",
    "1e309",
    "-1e400",
    "NaN",
    "Infinity",
    "-0",
    "٣٫٥",
    "６０.１７",
    "60,17",
    "1.234.567,8",
    "9" * 400,
    "2025-02-30 25:61",
    "0000-00-00",
    "../../etc/passwd",
    "C:\\Windows\\x",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "ŁÓDŹ ß ı İ",
    "06-12345678 jan@example.nl",
)
hostile = st.sampled_from(HOSTILE)
text = st.one_of(
    hostile,
    st.text(max_size=30),
    st.lists(st.one_of(hostile, st.text(max_size=8)), min_size=2, max_size=5).map("".join),
)
NAMES = ("id", "date", "lat", "lon", "theme", "text", "latitude", "longitude", "omschrijving", "datum",
         "category", "naam", "e-mail", "telefoon", "x", "y")  # fmt: skip
column = st.one_of(st.sampled_from(NAMES), text)
DATES = ("2025-01-01 10:00", "2025-06-15T08:30:00+02:00", "15.06.2025 klo 8.30", "2025/06/15")
LATS = ("60.17", "60,1699", "60.171234", "-91", "1e3")
LONS = ("24.94", "24,9384", "24.941987", "181", "")
THEMES = ("noise", "litter", "Rommel op straat", "hate", "other", "")
# Mostly well-formed values where the pipeline needs them (so that rows get through to the SQL and the
# store), hostile ones in every other field and, less often, in those too.
value_for = {
    "id": text,
    "date": st.one_of(st.sampled_from(DATES), st.sampled_from(DATES), text),
    "lat": st.one_of(st.sampled_from(LATS), st.sampled_from(LATS[:3]),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr), text),
    "lon": st.one_of(st.sampled_from(LONS), st.sampled_from(LONS[:3]),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr), text),
    "theme": st.one_of(st.sampled_from(THEMES), text),
}  # fmt: skip
no_nul = text.map(lambda s: s.replace("\x00", ""))  # a NUL makes a file binary: injected on its own below
# One time in six (st.integers would pick its smallest value far more often than that).
rarely = st.sampled_from([False, False, False, False, False, True])
# File names as users' tools make them: anything but '/' and NUL, and no surrogates (not encodable).
file_stem = st.one_of(
    hostile.filter(lambda s: s.strip(". ") and "/" not in s and "\x00" not in s and "\\" not in s),
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=30
    ),
).filter(lambda s: s not in (".", "..") and len(s.encode("utf-8")) < 200)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, _template_store: Path):
    """One store for all the examples of the module; each example checks its own effect."""
    folder = tmp_path_factory.mktemp("fuzz")
    db = folder / "koban.duckdb"
    shutil.copyfile(_template_store, db)
    con = connect(db)
    yield con, Settings(db=db), folder
    con.close()


def state(con) -> dict[str, Any]:
    """Every stored row, the audit log, meta, and the catalogue (no stray view or table may appear)."""
    return {
        **snapshot(con),
        "audit_log": con.execute("SELECT count(*), max(id) FROM audit_log").fetchone(),
        "meta": con.execute("SELECT * FROM meta ORDER BY key").fetchall(),
        "catalogue": con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary ORDER BY 1"
        ).fetchall(),
    }


def write(folder: Path, stem: str, suffix: str, data: bytes) -> Path:
    sub = folder / f"x{abs(hash((stem, data))) % 10**12}"  # a folder per example: names may repeat
    sub.mkdir(exist_ok=True)
    path = sub / f"{stem}{suffix}"
    path.write_bytes(data)
    return path


def _event(text: str) -> None:
    """Count outcomes for `--hypothesis-show-statistics`; a no-op outside a property test."""
    with contextlib.suppress(InvalidArgument):
        event(text)


def ingest_or_refuse(store, path: Path, **kwargs: Any) -> None:
    """The invariant: a batch result, or IngestError naming the file; either way, 'nothing stored' is true."""
    con, settings, _ = store
    before = state(con)
    try:
        result = ingest_file(con, settings, path, **kwargs)
    except IngestError as exc:
        message = str(exc)
        _event(f"refused: {message.removeprefix(path.name).split(':')[-1].strip()[:40]}")
        assert path.name in message, message
        assert state(con) == before, f"{path.name}: the store changed although the file was refused"
        return
    _event("already ingested" if result.already_ingested else f"exit {result.exit_code}")
    if result.batch_id is None or result.already_ingested:  # nothing stored (exit 2, or no features at all)
        assert state(con) == before, f"{path.name}: the store changed although nothing was stored"
    else:
        assert result.accepted + result.duplicate > 0 and result.exit_code in (0, 1)
    assert all(e.startswith(path.name) for e in result.errors)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[str, bytes]:
    headers = draw(st.lists(column.map(lambda s: s.replace("\x00", "")), min_size=1, max_size=7))
    if draw(st.sampled_from(["core", "core", "core", "any"])) == "core":  # mostly: rows reach SQL and store
        headers = ["id", "date", "lat", "lon", "theme", "text"] + headers[: draw(st.integers(0, 2))]
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        rows.append([draw(value_for.get(h, no_nul)).replace("\x00", "") for h in headers])
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    out = io.StringIO()
    if draw(st.sampled_from(["quoted", "quoted", "quoted", "careless"])) == "quoted":
        writer = csv.writer(out, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
                            quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))  # fmt: skip
        writer.writerow(headers)
        writer.writerows(rows)
    else:  # what a careless export does: no quoting at all
        out.write("\n".join(delimiter.join(r) for r in [headers, *rows]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
    data = out.getvalue().encode(encoding, errors="replace")
    if draw(rarely):  # bytes that are not valid in the encoding, or a NUL
        at = draw(st.integers(0, len(data)))
        junk = draw(st.sampled_from([b"\xff\xfe\xfd", b"\xc3(", b"\xed\xa0\x80", b"\x81\x8d", b"\x00"]))
        data = data[:at] + junk + data[at:]
    return draw(file_stem), data


@given(
    case=csv_files(),
    mapped=st.one_of(
        st.none(), st.dictionaries(st.sampled_from(["id", "text", "theme"]), column, max_size=2)
    ),
)
@settings(max_examples=examples(60), **FUZZ)
def test_hostile_csv(store, case: tuple[str, bytes], mapped: dict[str, str] | None) -> None:
    stem, data = case
    ingest_or_refuse(store, write(store[2], stem, ".csv", data), mapping=mapped, fmt="csv")


lone_surrogate = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2)  # JSON: "\\ud800"
json_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        text,
        st.just(10**400),
        st.just(-(10**400)),
        lone_surrogate,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)
coordinate = st.one_of(st.floats(-200, 200), st.integers(-200, 200), st.just(10**400), json_value)


@st.composite
def geojson_files(draw: st.DrawFn) -> tuple[str, bytes]:
    features = []
    for _ in range(draw(st.integers(0, 4))):
        geometry = draw(st.one_of(
            st.builds(lambda c: {"type": "Point", "coordinates": c}, st.sampled_from([[24.94, 60.17], [24.95, 60.16, 3]])),
            st.builds(lambda c: {"type": "Point", "coordinates": c}, st.lists(coordinate, max_size=3)),
            json_value,
        ))  # fmt: skip
        props = draw(st.one_of(
            st.fixed_dictionaries({"date": value_for["date"], "theme": value_for["theme"], "text": text},
                                  optional={"id": json_value, "name": text}),
            st.dictionaries(column, json_value, max_size=4),
            json_value,
        ))  # fmt: skip
        feature: Any = {"type": draw(st.sampled_from(["Feature", "feature", "Point"])), "geometry": geometry,
                        "properties": props}  # fmt: skip
        if draw(st.booleans()):
            feature["id"] = draw(json_value)
        features.append(draw(st.one_of(st.just(feature), json_value)) if draw(rarely) else feature)
    doc: Any = {"type": "FeatureCollection", "features": features}
    if draw(rarely):
        doc["crs"] = {
            "type": "name",
            "properties": {"name": draw(st.one_of(text, st.just("urn:ogc:def:crs:EPSG::28992")))},
        }
    if draw(rarely):
        doc = draw(json_value)
    return draw(file_stem), json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


mapping = st.one_of(st.none(), st.dictionaries(st.sampled_from(["id", "text", "theme"]), column, max_size=2))


@given(case=geojson_files(), mapped=mapping)
@settings(max_examples=examples(50), **FUZZ)
def test_hostile_geojson(store, case: tuple[str, bytes], mapped: dict[str, str] | None) -> None:
    stem, data = case
    ingest_or_refuse(store, write(store[2], stem, ".geojson", data), fmt="geojson", mapping=mapped)


polygon = st.sampled_from([
    {"type": "Polygon", "coordinates": [[[24.92, 60.16], [24.94, 60.16], [24.94, 60.175], [24.92, 60.16]]]},
    {"type": "Polygon", "coordinates": [[[24.92, 60.16], [24.94, 60.175], [24.94, 60.16], [24.92, 60.175], [24.92, 60.16]]]},
    {"type": "MultiPolygon", "coordinates": [[[[24.94, 60.16], [24.96, 60.16], [24.96, 60.175], [24.94, 60.16]]]]},
    {"type": "Polygon", "coordinates": [[[1e400, 0], [0, 1], [1, 1]]]},
    {"type": "Polygon", "coordinates": []},
    {"type": "Point", "coordinates": [24.94, 60.17]},
    {"type": "LineString", "coordinates": [[24.94, 60.17], "x"]},
])  # fmt: skip


@st.composite
def open_data_geojson(draw: st.DrawFn) -> tuple[str, bytes]:
    features = []
    for n in range(draw(st.integers(0, 3))):
        props = draw(st.one_of(
            st.fixed_dictionaries({"code": st.one_of(st.just(f"A{n}"), json_value), "name": text}),
            st.dictionaries(column, json_value, max_size=3),
            json_value,
        ))  # fmt: skip
        feature: Any = {
            "type": "Feature",
            "geometry": draw(st.one_of(polygon, json_value)),
            "properties": props,
        }
        if draw(rarely):
            feature["id"] = draw(json_value)
        features.append(draw(json_value) if draw(rarely) else feature)
    doc: Any = {"type": "FeatureCollection", "features": features}
    if draw(rarely):
        doc = draw(json_value)
    return draw(file_stem), json.dumps(doc).encode("utf-8", "surrogatepass")


@given(case=open_data_geojson(), kind=st.sampled_from(["areas", "layer"]), repair=st.booleans())
@settings(max_examples=examples(40), **FUZZ)
def test_hostile_areas_and_layers(store, case: tuple[str, bytes], kind: str, repair: bool) -> None:
    stem, data = case
    extra = {"layer": draw_layer_name(stem)} if kind == "layer" else {"repair": repair}
    ingest_or_refuse(store, write(store[2], stem, ".geojson", data), kind=kind, **extra)


def draw_layer_name(stem: str) -> str:
    """A hostile layer name: the file's stem, quotes and all."""
    return stem


@st.composite
def open311_files(draw: st.DrawFn) -> tuple[str, bytes]:
    requests = []
    for _ in range(draw(st.integers(0, 4))):
        request = draw(st.fixed_dictionaries(
            {"service_request_id": json_value, "requested_datetime": value_for["date"],
             "lat": st.one_of(st.floats(59, 61), coordinate), "long": st.one_of(st.floats(24, 25), coordinate)},
            optional={"service_code": json_value, "service_name": text, "description": text, "email": text,
                      "first_name": text},
        ))  # fmt: skip
        request.update(draw(st.dictionaries(text, json_value, max_size=2)))
        requests.append(draw(json_value) if draw(rarely) else request)
    doc: Any = requests if draw(st.booleans()) else {"service_requests": requests}
    return draw(file_stem), json.dumps(doc).encode("utf-8", "surrogatepass")


@given(case=open311_files())
@settings(max_examples=examples(40), **FUZZ)
def test_hostile_open311(store, case: tuple[str, bytes]) -> None:
    stem, data = case
    ingest_or_refuse(store, write(store[2], stem, ".json", data), fmt="open311")


@st.composite
def policeuk_files(draw: st.DrawFn) -> tuple[str, bytes]:
    headers = list(POLICEUK_COLUMNS.values())
    if draw(rarely):
        headers.remove(draw(st.sampled_from(headers)))
    headers += draw(st.lists(column.map(lambda s: s.replace("\x00", "")), max_size=2))
    month = st.one_of(st.sampled_from(["2024-01", "2024-02", "2024-13", "2024-1", ""]), text)
    coords = {"Longitude": st.one_of(st.sampled_from(["-0.1", "-0.12", "x"]), text),
              "Latitude": st.one_of(st.sampled_from(["51.5", "51.51", "91"]), text), "Month": month,
              "Crime type": st.one_of(st.sampled_from(["Burglary", "Anti-social behaviour"]), text)}  # fmt: skip
    rows = [
        [draw(coords.get(h, no_nul)).replace("\x00", "") for h in headers]
        for _ in range(draw(st.integers(0, 4)))
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([headers, *rows])
    data = out.getvalue().encode("utf-8", errors="replace")
    if draw(rarely):
        data += b"\x00"
    return draw(file_stem), data


@given(case=policeuk_files())
@settings(max_examples=examples(40), **FUZZ)
def test_hostile_policeuk(store, case: tuple[str, bytes]) -> None:
    stem, data = case
    ingest_or_refuse(store, write(store[2], stem, ".csv", data), kind="crime")


@given(texts=st.lists(st.one_of(text, st.none()), max_size=6))
@settings(max_examples=examples(80), **FUZZ)
def test_scrub_and_classify_take_any_text(texts: list[str | None]) -> None:
    for t in texts:
        if t is not None:
            assert isinstance(scrub_text(t), str)
    scrubbed = scrub_texts(texts).to_pylist()
    assert [s is None for s in scrubbed] == [t is None for t in texts]
    predictions = classify_texts(texts)
    assert len(predictions) == len(texts)
    assert all(isinstance(p.theme, str) and 0.0 <= p.confidence <= 1.0 for p in predictions)


HUGE = ("x" * (1 << 20), "06-12345678 " * 90_000, "Kerkstraat 1, " * 75_000, "a@b.nl " * 150_000)


@pytest.mark.parametrize("big", HUGE, ids=["letters", "phones", "addresses", "emails"])
def test_scrub_one_megabyte_texts(big: str) -> None:
    """No pattern of the scrubber backtracks badly on long runs of what it looks for (each takes < 0.3 s)."""
    assert isinstance(scrub_text(big), str)


def test_classify_a_one_megabyte_text() -> None:
    """About 3 s: the character n-grams of a megabyte (an ingest classifies only texts without a theme)."""
    assert classify_texts([HUGE[0]])[0].theme == "other"


def test_a_one_megabyte_field_is_stored_scrubbed(store) -> None:
    con = store[0]
    text = "loud music 06-12345678 " * 46_000
    body = f'id,date,lat,lon,theme,text\nbig1,2025-01-01 10:00,60.17,24.94,noise,"{text}"\n'
    ingest_or_refuse(store, write(store[2], "big1MB", ".csv", body.encode()))
    length, leaked = con.execute(
        "SELECT length(description), contains(description, '12345678') FROM concerns WHERE id = 'big1'"
    ).fetchone()
    assert length > 800_000 and not leaked  # each phone number is now [PHONE]


def test_a_record_over_duckdbs_line_limit_is_refused_by_line(store) -> None:
    con, settings, folder = store
    body = f'id,date,lat,lon,theme,text\nbig3,2025-01-01 10:00,60.17,24.94,noise,"{"loud " * 600_000}"\n'
    path = write(folder, "big3MB", ".csv", body.encode())
    before = state(con)
    with pytest.raises(IngestError, match=r"^big3MB.csv:2: a record longer than 2,000,000 bytes"):
        ingest_file(con, settings, path)
    assert state(con) == before


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("x,2025-01-01,60.17,24.94,noise,Jan de Vries,b\n", "expected 6 fields, found 7"),
        ('y,2025-01-01,60.17,24.94,noise,"Jan de Vries\n', "unterminated quote"),
    ],
    ids=["columns", "quote"],
)
def test_a_malformed_record_deep_in_a_file_is_refused_by_line_without_its_content(store, bad, reason) -> None:
    """Past the first 1,000 records (which the reader samples) the file is first read in full by the scrubber."""
    con, settings, folder = store
    rows = "".join(f"r{i},2025-01-01 10:00,60.17,24.94,noise,ok\n" for i in range(3000))
    path = write(folder, "deep", ".csv", ("id,date,lat,lon,theme,text\n" + rows + bad).encode())
    before = state(con)
    with pytest.raises(IngestError) as caught:
        ingest_file(con, settings, path)
    assert str(caught.value).startswith(f"deep.csv:3002: {reason}")
    assert "Jan de Vries" not in str(caught.value)
    assert state(con) == before


POINT = '"geometry": {"type": "Point", "coordinates": [24.94, 60.17]}'
FOUND_BY_FUZZING = {
    # DuckDB 1.5.5 fails with an internal error on invalid UTF-8 in a column it reads, which disables the
    # whole database until the process restarts; a UTF-8 byte order mark used to skip the encoding check.
    "bom-invalid-utf8.csv": (
        b"\xef\xbb\xbfid,date,lat,lon\n1,2025-01-01,60.17,24.9\xff\n",
        {}, "starts with a UTF-8 byte order mark but holds bytes that are not UTF-8",
    ),
    "utf16-invalid.csv": (b"\xff\xfe\xfdid", {}, "bytes that are not valid text in the detected encoding (utf-16)"),
    "surrogate.geojson": (
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"text": "\\ud800"}, '
         + POINT + "}]}").encode(),
        {}, "unpaired surrogate escape",
    ),
    "surrogate.json": (b'[{"service_request_id": "1", "description": "\\udfff"}]', {"fmt": "open311"},
                       "unpaired surrogate escape"),
    "cesu8-surrogate.geojson": (  # json.loads(bytes) decodes with 'surrogatepass'
        b'{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "\xed\xa0\x80", "properties": {}}]}',
        {}, "not UTF-8 text",
    ),
    "map-missing.geojson": (
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"a": 1}, ' + POINT + "}]}").encode(),
        {"mapping": {"text": "beschrijving"}}, "no column named 'beschrijving'",
    ),
    # these used to raise AttributeError / OverflowError; now their rows are rejected by feature
    "properties-string.geojson": (
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": "x", ' + POINT + "}]}").encode(),
        {}, None,
    ),
    "huge-coordinate.geojson": (
        b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"date": "2025-01-01"}, '
        b'"geometry": {"type": "Point", "coordinates": [1' + b"0" * 400 + b', 60.17]}}]}',
        {}, None,
    ),
    "properties-list.geojson": (
        (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": [null, 1], "geometry": '
         b'{"type": "Polygon", "coordinates": [[[24.9, 60.1], [25, 60.1], [25, 60.2], [24.9, 60.1]]]}}]}'),
        {"kind": "layer", "layer": "x"}, None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FOUND_BY_FUZZING))
def test_inputs_that_fuzzing_found_are_refused_or_rejected_cleanly(store, name: str) -> None:
    con, settings, folder = store
    data, kwargs, message = FOUND_BY_FUZZING[name]
    path = write(folder, Path(name).stem, Path(name).suffix, data)
    before = state(con)
    if message is None:
        result = ingest_file(con, settings, path, **kwargs)
        assert result.batch_id is None or result.accepted + result.rejected + result.duplicate == result.read
    else:
        with pytest.raises(IngestError, match=re.escape(message)):
            ingest_file(con, settings, path, **kwargs)
        assert state(con) == before
    assert con.execute("SELECT 42").fetchone() == (42,)  # the database is still usable


def test_json_over_the_limit_is_refused_with_a_clear_message(store, monkeypatch) -> None:
    """JSON is parsed whole, so its size is capped (MAX_JSON_BYTES, 512 MB); shown here with a small cap."""
    import koban_geo.ingest.readers as readers

    con, settings, folder = store
    monkeypatch.setattr(readers, "MAX_JSON_BYTES", 1000)
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": None, "properties": {}}] * 50,
    }
    path = write(folder, "big", ".geojson", json.dumps(doc).encode())
    before = state(con)
    with pytest.raises(
        IngestError, match=r"big.geojson: JSON files over 0 MB are refused; split the file or use CSV"
    ):
        ingest_file(con, settings, path)
    assert state(con) == before
    assert MAX_JSON_BYTES == 512 * 1024 * 1024
