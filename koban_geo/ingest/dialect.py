"""Sniffing what residents' CSV exports really look like: encoding, delimiter, decimal comma, header names."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from koban_geo.store.resources import data_dir

DELIMITERS = (",", ";", "\t", "|")
CONCERN_FIELDS = ("id", "reported_at", "lat", "lon", "theme", "text")
_SAMPLE_BYTES = 256 * 1024


class DialectError(ValueError):
    """The file cannot be read as CSV at all; the message names what is wrong."""


MIXED = "utf-8+cp1252"  # UTF-8 with some lines in cp1252: decoded line by line (decode_line)

# One well-formed UTF-8 sequence beyond ASCII. In a cp1252 or Latin-1 file such a pair of bytes ("Ã©") is
# itself mojibake, so a file that holds one was written as UTF-8 and its other bytes are the strays.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


def decode_line(raw: bytes) -> tuple[str, bool]:
    """One line of a MIXED file: UTF-8 if it is, else cp1252 (Latin-1 where cp1252 leaves a byte undefined).

    Returns the text and whether it was not UTF-8.
    """
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        encoding = "latin-1" if _CP1252_UNDEFINED.search(raw) else "cp1252"
        return raw.decode(encoding), True


def detect_encoding(path: Path, chunk: int = 1 << 20) -> str:
    """'utf-8-sig', 'utf-8', 'utf-16', MIXED, 'cp1252' or 'latin-1', by BOM and a strict decode of the file.

    A file that is not UTF-8 throughout but holds well-formed UTF-8 beyond ASCII is MIXED: UTF-8 with stray
    lines from another program, read line by line, never whole as Latin-1 (one stray byte would turn every
    accent into mojibake that the scrubber does not recognise). DialectError for a file with a UTF-8 byte
    order mark that is not UTF-8 throughout.
    """
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        bom = head.startswith(codecs.BOM_UTF8)
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := fh.read(chunk):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "utf-8-sig" if bom else "utf-8"
        except UnicodeDecodeError as exc:
            # DuckDB 1.5.5 must never see invalid UTF-8: in a column a query reads it fails with an internal
            # error that disables the whole database until the process restarts (tests/test_fuzz.py).
            if bom:
                raise DialectError(
                    "the file starts with a UTF-8 byte order mark but holds bytes that are not UTF-8 "
                    f"({exc.reason}); save it again as UTF-8"
                ) from exc
        fh.seek(0)
        tail = b""
        while block := fh.read(chunk):
            if _UTF8_MULTIBYTE.search(tail + block):
                return MIXED
            tail = block[-3:]
        fh.seek(0)
        # cp1252 leaves five bytes undefined; a file using them can only be Latin-1.
        while block := fh.read(chunk):
            if _CP1252_UNDEFINED.search(block):
                return "latin-1"
        return "cp1252"


def is_binary(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(8192)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return b"\x00" in head


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def detect_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines into the same number (> 0) of fields most consistently.

    Ties go to the order of DELIMITERS, so a one-column file reads as comma-separated.
    """
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        counts = [_count_outside_quotes(line, delimiter) for line in lines]
        if not counts or counts[0] == 0:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode == 0:
            continue
        header_agrees = 1 if counts[0] == mode else 0
        score = (freq / len(counts) + header_agrees, mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?(\d{1,3}([. ]\d{3})+|\d+),\d+\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[+-]?\d*\.\d+\s*$")


def detect_decimal_comma(values: Iterable[str | None]) -> bool:
    """True when more numbers are written with a decimal comma ('60,1699', '1.234,5') than with a point."""
    commas = points = 0
    for value in values:
        if not value:
            continue
        if _DECIMAL_COMMA.match(value):
            commas += 1
        elif _DECIMAL_POINT.match(value):
            points += 1
    return commas > points


def normalise_header(name: str) -> str:
    """Lower case, no accents (ł -> l too), punctuation and runs of space folded to one space."""
    text = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


@cache
def _synonyms() -> dict[str, frozenset[str]]:
    raw = json.loads((data_dir() / "header_synonyms.json").read_text(encoding="utf-8"))
    return {field: frozenset(normalise_header(s) for s in raw[field]) for field in CONCERN_FIELDS}


@cache
def reporter_headers() -> frozenset[str]:
    raw = json.loads((data_dir() / "reporter_columns.json").read_text(encoding="utf-8"))
    return frozenset(normalise_header(h) for h in raw["headers"])


@dataclass(frozen=True)
class HeaderMap:
    columns: dict[str, int]  # field -> column index
    dropped: tuple[str, ...]  # reporter-identifying headers that are never read
    unused: tuple[str, ...]  # other headers not read


def map_headers(headers: list[str], explicit: Mapping[str, str] | None = None) -> HeaderMap:
    """Match header names to concern fields; `explicit` (FIELD -> COLUMN name) always wins."""
    explicit = dict(explicit or {})
    for field in explicit:
        if field not in CONCERN_FIELDS:
            raise DialectError(f"--map: unknown field {field!r} (fields: {', '.join(CONCERN_FIELDS)})")
    columns: dict[str, int] = {}
    for field, column in explicit.items():
        matches = [i for i, h in enumerate(headers) if h == column] or [
            i for i, h in enumerate(headers) if normalise_header(h) == normalise_header(column)
        ]
        if not matches:
            raise DialectError(f"--map {field}={column}: no column named {column!r} in the header")
        columns[field] = matches[0]
    synonyms = _synonyms()
    taken = set(columns.values())
    for field in CONCERN_FIELDS:
        if field in columns:
            continue
        for i, header in enumerate(headers):
            if i not in taken and normalise_header(header) in synonyms[field]:
                columns[field] = i
                taken.add(i)
                break
    reporter = reporter_headers()
    dropped = tuple(h for i, h in enumerate(headers) if i not in taken and normalise_header(h) in reporter)
    unused = tuple(h for i, h in enumerate(headers) if i not in taken and h not in dropped)
    return HeaderMap(columns=columns, dropped=dropped, unused=unused)


@dataclass(frozen=True)
class CsvDialect:
    encoding: str
    delimiter: str
    headers: list[str]


def sniff_csv(path: Path) -> CsvDialect:
    """Encoding, delimiter and header row of a CSV file, or DialectError for a file that is not one."""
    if path.stat().st_size == 0:
        raise DialectError("the file is empty")
    if is_binary(path):
        raise DialectError("this is a binary file, not CSV text")
    encoding = detect_encoding(path)
    with path.open("rb") as fh:
        raw = fh.read(_SAMPLE_BYTES)
    if b"\n" not in raw and b"\r" not in raw and path.stat().st_size > _SAMPLE_BYTES:
        raise DialectError(
            f"1: no line end in the first {_SAMPLE_BYTES >> 10} KB: a CSV file starts with a header line "
            "naming its columns"
        )
    if encoding == MIXED:
        sample = "".join(decode_line(line)[0] for line in raw.splitlines(keepends=True))
    else:
        sample = raw.decode(encoding, errors="replace")
    if encoding == "utf-8-sig":
        sample = sample.removeprefix("\ufeff")
    if not sample.strip():
        raise DialectError("the file holds no header line")
    delimiter = detect_delimiter(sample)
    header_line = next(line for line in sample.splitlines() if line.strip())
    try:
        headers = next(csv.reader(io.StringIO(header_line), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a field over the csv module's 131,072-character limit
        raise DialectError(f"1: the header line cannot be read as CSV ({exc})") from exc
    headers = [h.strip() for h in headers]
    if len(set(headers)) != len(headers):
        twice = sorted({h for h in headers if headers.count(h) > 1})
        raise DialectError(f"the header names a column twice: {', '.join(twice)}")
    return CsvDialect(encoding=encoding, delimiter=delimiter, headers=headers)
