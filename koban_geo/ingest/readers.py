"""Readers that turn a user's file into the staged columns every concerns batch goes through.

Staged columns: line, src_id, reported_at_raw, lat_raw, lon_raw, theme_raw, text_raw (all text but line).
Readers never write: CSV is a lazy DuckDB relation over the file, JSON formats an in-memory Arrow table.
"""

from __future__ import annotations

import csv
import json
import math
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from koban_geo.ingest.batch import IngestError
from koban_geo.ingest.dialect import (
    CONCERN_FIELDS,
    MIXED,
    CsvDialect,
    DialectError,
    decode_line,
    detect_decimal_comma,
    map_headers,
    normalise_header,
    reporter_headers,
    sniff_csv,
)
from koban_geo.ingest.limits import DEFAULT_LIMITS, FileLimits, check_json_depth

STAGED = ("line", "src_id", "reported_at_raw", "lat_raw", "lon_raw", "theme_raw", "text_raw")
_RAW_OF = {"id": "src_id", "reported_at": "reported_at_raw", "lat": "lat_raw", "lon": "lon_raw",
           "theme": "theme_raw", "text": "text_raw"}  # fmt: skip
MAX_JSON_BYTES = 512 * 1024 * 1024


@dataclass
class Staged:
    """What a reader hands to the pipeline: the relation plus what it learnt about the file."""

    where: str  # how a row is located in messages: "line" or "feature" or "request"
    decimal_comma: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    pre_errors: dict[int, str] = field(default_factory=dict)  # row -> reason found while reading
    record_lines: Any = None  # callable returning each record's first line, when lines and records differ


@contextmanager
def utf8_copy(path: Path, encoding: str, repaired: list[int] | None = None) -> Iterator[Path]:
    """The file itself when it is UTF-8, else a temporary UTF-8 copy (deleted afterwards).

    A MIXED file is decoded line by line (koban_geo.ingest.dialect.decode_line); the numbers of the lines
    that were not UTF-8 are appended to `repaired`.
    """
    if encoding in ("utf-8", "utf-8-sig"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="koban-") as tmp:
        target = Path(tmp) / "utf8.csv"
        if encoding == MIXED:
            with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
                for n, raw in enumerate(src, start=1):
                    text, was_repaired = decode_line(raw)
                    dst.write(text)
                    if was_repaired and repaired is not None:
                        repaired.append(n)
            yield target
            return
        try:
            with (
                path.open("r", encoding=encoding, newline="") as src,
                target.open("w", encoding="utf-8", newline="") as dst,
            ):
                while block := src.read(1 << 20):
                    dst.write(block)
        except UnicodeDecodeError as exc:  # e.g. a UTF-16 BOM over bytes that are not UTF-16
            raise IngestError(
                f"{path.name}: bytes that are not valid text in the detected encoding ({encoding})"
            ) from exc
        yield target


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def csv_parse_error(
    file: str, exc: duckdb.Error, max_line_bytes: int = FileLimits.max_line_bytes
) -> IngestError:
    """A DuckDB CSV error as 'FILE:LINE: reason', without echoing the line's content (it may be personal)."""
    text = str(exc)
    line = _CSV_LINE.search(text)
    where = f":{line.group(1)}" if line else ""
    if "unterminated quote" in text:
        reason = "unterminated quote (the file is truncated or a quote is not closed)"
    elif columns := _COLUMNS.search(text):
        reason = f"expected {columns.group(1)} fields, found {columns.group(2)}"
    elif "Invalid unicode" in text or "invalid unicode" in text:
        reason = "bytes that are not valid text in the detected encoding"
    elif "Maximum line size" in text:
        reason = (
            f"a record longer than {max_line_bytes:,} bytes (no field of a concern is that long; "
            "setting KOBAN_MAX_LINE_BYTES)"
        )
    else:
        reason = "cannot be parsed as CSV"
    return IngestError(f"{file}{where}: {reason}")


def _may_shift_lines(path: Path) -> bool:
    """True when a quote or a blank line could make record numbers and line numbers differ."""
    with path.open("rb") as fh:
        previous = b""
        while block := fh.read(1 << 20):
            chunk = previous + block
            if b'"' in chunk or b"\n\n" in chunk or b"\n\r\n" in chunk:
                return True
            previous = block[-2:]
    return False


def csv_record_lines(path: Path, encoding: str, delimiter: str) -> list[int]:
    """First line of each data record, for files where blank lines or quoted newlines shift line numbers."""
    starts: list[int] = []
    with path.open("r", encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        consumed = 0
        header_seen = False
        for row in reader:
            begin, consumed = consumed + 1, reader.line_num
            if not row:
                continue
            if not header_seen:
                header_seen = True
                continue
            starts.append(begin)
    return starts


def sniff(path: Path, file: str) -> CsvDialect:
    try:
        return sniff_csv(path)
    except DialectError as exc:  # "1: reason" when it names a line
        raise IngestError(f"{file}:{'' if re.match(r'[0-9]+:', str(exc)) else ' '}{exc}") from exc


def register_csv_view(
    con: duckdb.DuckDBPyConnection,
    file: str,
    dialect: CsvDialect,
    readable: Path,
    picks: Mapping[str, int | None],
    view: str,
    max_line_bytes: int = FileLimits.max_line_bytes,
) -> None:
    """A lazy view `view`(line, <picks>) over a UTF-8 CSV; picks maps our column names to header positions.

    Columns are addressed by position under names we make (c0, c1...), never by the file's header text.
    No sniffing (the dialect was detected by koban_geo.ingest.dialect), and strict mode makes a truncated
    quote or a row with too many fields an error that names its line. The relation stays lazy: a view built
    from a query with bound parameters would be materialised, and its rows serialised into the store file.
    The view is registered as a TEMP view of this connection: `create_view` would write a persistent view
    into the store (naming the user's file) outside the batch's transaction, even for a rejected file.
    """
    rel = con.read_csv(
        str(readable),
        header=True,
        sep=dialect.delimiter,
        quotechar='"',
        escapechar='"',
        columns={f"c{i}": "VARCHAR" for i in range(len(dialect.headers))},
        auto_detect=False,
        strict_mode=True,
        encoding="utf-8",
        max_line_size=max_line_bytes,
    )
    select = ["row_number() OVER () + 1 AS line"]
    for target, index in picks.items():
        select.append(f"{'c' + str(index) if index is not None else 'NULL::VARCHAR'} AS {target}")
    try:
        con.register(view, rel.project(", ".join(select)))
    except duckdb.InvalidInputException as exc:
        raise csv_parse_error(file, exc, max_line_bytes) from exc


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    file: str,
    dialect: CsvDialect,
    mapping: Mapping[str, str] | None,
    readable: Path,
    limits: FileLimits = DEFAULT_LIMITS,
) -> Staged:
    """Register view _staged over the CSV file (read by DuckDB in parallel, all columns as text)."""
    try:
        headers = map_headers(dialect.headers, mapping)
    except DialectError as exc:
        raise IngestError(f"{file}:1: {exc}") from exc
    missing = [f for f in ("reported_at", "lat", "lon") if f not in headers.columns]
    if missing:
        raise IngestError(
            f"{file}:1: no column for {', '.join(missing)} among the headers "
            f"({', '.join(dialect.headers)}); name it with --map FIELD=COLUMN"
        )
    picks = {_RAW_OF[f]: headers.columns.get(f) for f in CONCERN_FIELDS}
    register_csv_view(con, file, dialect, readable, picks, "_staged", limits.max_line_bytes)
    try:
        sample = con.sql("SELECT lat_raw, lon_raw FROM _staged LIMIT 1000").fetchall()
    except duckdb.Error as exc:
        raise csv_parse_error(file, exc, limits.max_line_bytes) from exc
    decimal_comma = dialect.delimiter != "," and detect_decimal_comma(v for row in sample for v in row)

    def record_lines() -> list[int] | None:
        """Called only when rows were rejected: exact lines if quotes or blank lines may shift them."""
        if not _may_shift_lines(readable):
            return None
        return csv_record_lines(readable, "utf-8-sig", dialect.delimiter)

    return Staged(
        where="line",
        decimal_comma=decimal_comma,
        parameters={
            "encoding": dialect.encoding,
            "delimiter": dialect.delimiter,
            "decimal_comma": decimal_comma,
            "columns": {f: dialect.headers[i] for f, i in headers.columns.items()},
            "unused_columns": list(headers.unused),
        },
        dropped=headers.dropped,
        record_lines=record_lines,
    )


# JSON may escape a character outside the BMP as a surrogate pair ("\ud83d\ude00"); Python decodes a lone
# half into a str that cannot be encoded, and Arrow then fails on it.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def load_json(path: Path, file: str, limits: FileLimits = DEFAULT_LIMITS) -> Any:
    """The parsed JSON document, or IngestError (empty, over the size cap, not UTF-8, too deep, invalid)."""
    size = path.stat().st_size
    if size == 0:
        raise IngestError(f"{file}: the file is empty")
    if size > MAX_JSON_BYTES:
        raise IngestError(
            f"{file}: JSON files over {MAX_JSON_BYTES >> 20} MB are refused; split the file or use CSV"
        )
    raw = path.read_bytes()
    check_json_depth(raw, file, limits)
    try:
        # json.loads(bytes) would decode with 'surrogatepass', letting encoded surrogates through
        doc = json.loads(raw.decode(json.detect_encoding(raw)))
    except UnicodeDecodeError as exc:
        raise IngestError(f"{file}: not UTF-8 text (JSON must be UTF-8)") from exc
    except json.JSONDecodeError as exc:
        raise IngestError(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    if _SURROGATE_ESCAPE.search(raw):  # rare: then check that every escaped surrogate has its pair
        try:
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise IngestError(
                f"{file}: text with an unpaired surrogate escape (such as \\ud800), which is not Unicode"
            ) from exc
    return doc


def legacy_crs(doc: Mapping[str, Any]) -> str | None:
    """The CRS named by a pre-RFC 7946 `crs` member ('EPSG:28992'), or None for WGS 84 / absent."""
    crs = doc.get("crs")
    if not isinstance(crs, Mapping):
        return None
    name = str((crs.get("properties") or {}).get("name", ""))
    if not name or re.search(r"CRS84$|EPSG:?:?4326$", name):
        return None
    match = re.search(r"EPSG:+(\d{4,6})$", name)
    if not match:
        raise IngestError(f"unsupported crs member {name!r}: use an EPSG code or plain WGS 84")
    code = f"EPSG:{match.group(1)}"
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(code)
    except CRSError as exc:
        raise IngestError(
            f"crs member {name!r}: {code} is not a coordinate system this system knows"
        ) from exc
    return code


def _num_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float (JSON allows 400 digits)
            return "nan"
        return repr(number) if math.isfinite(number) else "nan"
    return str(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def _property_fields(
    features: list[Mapping[str, Any]], mapping: Mapping[str, str] | None
) -> tuple[dict[str, str], tuple[str, ...]]:
    keys: list[str] = []
    for feature in features[:1000]:
        for key in feature_properties(feature):
            if key not in keys:
                keys.append(key)
    headers = map_headers(keys, mapping)
    return {f: keys[i] for f, i in headers.columns.items()}, headers.dropped


def feature_properties(feature: Any) -> dict[str, Any]:
    """A feature's properties; anything but a JSON object (RFC 7946: object or null) counts as none."""
    props = feature.get("properties") if isinstance(feature, dict) else None
    return props if isinstance(props, dict) else {}


def stage_geojson(
    path: Path, file: str, mapping: Mapping[str, str] | None, limits: FileLimits = DEFAULT_LIMITS
) -> tuple[pa.Table, Staged]:
    doc = load_json(path, file, limits)
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise IngestError(f"{file}: wrong JSON type: expected a GeoJSON FeatureCollection")
    features = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list):
        raise IngestError(f"{file}: wrong JSON type: 'features' must be an array")
    try:
        source_crs = legacy_crs(doc)
    except IngestError as exc:
        raise IngestError(f"{file}: {exc}") from exc
    try:
        fields, dropped = _property_fields([f for f in features if isinstance(f, dict)], mapping)
    except DialectError as exc:  # --map naming a property no feature has
        raise IngestError(f"{file}: {exc}") from exc
    cols: dict[str, list[Any]] = {name: [] for name in STAGED}
    errors: dict[int, str] = {}
    for n, feature in enumerate(features, start=1):
        props = feature_properties(feature)
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        lon = lat = None
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors[n] = "feature: not a GeoJSON Feature"
        elif isinstance(geometry, dict) and geometry.get("type") != "Point":
            errors[n] = f"geometry: expected a Point, got {geometry.get('type')}"
        elif isinstance(geometry, dict):
            coords = geometry.get("coordinates")
            if isinstance(coords, list) and len(coords) >= 2:
                lon, lat = coords[0], coords[1]
            else:
                errors[n] = "geometry: Point without two coordinates"
        cols["line"].append(n)
        cols["src_id"].append(
            _text(
                feature.get("id")
                if isinstance(feature, dict) and "id" in feature
                else props.get(fields["id"])
                if "id" in fields
                else None
            )
        )
        cols["reported_at_raw"].append(
            _text(props.get(fields["reported_at"])) if "reported_at" in fields else None
        )
        cols["lon_raw"].append(_num_text(lon))
        cols["lat_raw"].append(_num_text(lat))
        cols["theme_raw"].append(_text(props.get(fields["theme"])) if "theme" in fields else None)
        cols["text_raw"].append(_text(props.get(fields["text"])) if "text" in fields else None)
    if source_crs:
        _reproject(cols, source_crs, errors)
    for n in errors:  # rows that failed before SQL: make the location missing, keep the reason
        cols["lat_raw"][n - 1] = None
        cols["lon_raw"][n - 1] = None
    table = pa.table(
        {k: pa.array(v, type=pa.int64() if k == "line" else pa.string()) for k, v in cols.items()}
    )
    staged = Staged(
        where="feature",
        parameters={"source_crs": source_crs or "EPSG:4326", "properties": fields},
        dropped=dropped,
        pre_errors=errors,
    )
    return table, staged


def _reproject(cols: dict[str, list[Any]], source_crs: str, errors: dict[int, str]) -> None:
    from pyproj import Transformer

    transformer = Transformer.from_crs(source_crs, "EPSG:4326", always_xy=True)
    for i, (x, y) in enumerate(zip(cols["lon_raw"], cols["lat_raw"], strict=True)):
        if x is None or y is None:
            continue
        try:
            lon, lat = transformer.transform(float(x), float(y))
        except ValueError:
            lon = lat = math.inf
        if not (math.isfinite(lon) and math.isfinite(lat)):
            errors[i + 1] = f"geometry: cannot be reprojected from {source_crs}"
            continue
        cols["lon_raw"][i], cols["lat_raw"][i] = repr(lon), repr(lat)


# GeoReport v2 fields; everything else (address, media_url, account fields) is never read.
_OPEN311 = {"id": "service_request_id", "reported_at": "requested_datetime", "lat": "lat", "lon": "long",
            "text": "description"}  # fmt: skip


def stage_open311(
    path: Path, file: str, known_labels: set[str], limits: FileLimits = DEFAULT_LIMITS
) -> tuple[pa.Table, Staged]:
    doc = load_json(path, file, limits)
    if isinstance(doc, dict):
        doc = doc.get("service_requests", doc.get("requests"))
    if not isinstance(doc, list):
        raise IngestError(f"{file}: wrong JSON type: expected an array of Open311 service requests")
    cols: dict[str, list[Any]] = {name: [] for name in STAGED}
    keys: set[str] = set()
    errors: dict[int, str] = {}
    for n, req in enumerate(doc, start=1):
        if not isinstance(req, dict):
            req = {}
            errors[n] = "request: not a JSON object"
        keys.update(req)
        code = _text(req.get("service_code"))
        label = f"open311:{code}".casefold() if code else None
        theme = label if label and label in known_labels else _text(req.get("service_name"))
        cols["line"].append(n)
        cols["src_id"].append(_text(req.get(_OPEN311["id"])))
        cols["reported_at_raw"].append(_text(req.get(_OPEN311["reported_at"])))
        cols["lat_raw"].append(None if n in errors else _num_text(req.get(_OPEN311["lat"])))
        cols["lon_raw"].append(None if n in errors else _num_text(req.get(_OPEN311["lon"])))
        cols["theme_raw"].append(theme)
        cols["text_raw"].append(_text(req.get(_OPEN311["text"])))
    reporter = reporter_headers()
    dropped = tuple(
        sorted(
            k for k in keys if normalise_header(k) in reporter or k in ("media_url", "address_id", "zipcode")
        )
    )
    table = pa.table(
        {k: pa.array(v, type=pa.int64() if k == "line" else pa.string()) for k, v in cols.items()}
    )
    staged = Staged(where="request", dropped=dropped, pre_errors=errors)
    return table, staged
