"""Ingestion: every file becomes one batch, stored all or nothing, with rejected rows named by file and line.

result = ingest_file(con, settings, Path("meldingen.csv"), kind="concerns", source="rotterdam-app")
result.exit_code  # 0 all stored, 1 some rows rejected, 2 nothing stored
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import duckdb

from koban_geo.ingest.batch import BatchResult, IngestError, previous_batch
from koban_geo.ingest.concerns import Progress, ingest_concerns
from koban_geo.store.hashing import file_sha256
from koban_geo.store.settings import Settings

__all__ = ["KINDS", "BatchResult", "IngestError", "detect_format", "ingest_file"]

KINDS = ("concerns", "crime", "areas", "layer", "stats")
FORMATS = {
    "concerns": ("csv", "geojson", "open311"),
    "crime": ("policeuk",),
    "areas": ("geojson",),
    "layer": ("geojson",),
    "stats": ("csv",),
}


def detect_format(path: Path, kind: str) -> str:
    """The format of a file for a kind, from its name and, for JSON, its top-level shape."""
    suffix = path.suffix.lower()
    if kind == "crime":
        return "policeuk"
    if kind in ("areas", "layer"):
        return "geojson"
    if kind == "stats":
        return "csv"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix in (".geojson",):
        return "geojson"
    if suffix == ".json":
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip()
        if head.startswith(b"["):
            return "open311"
        if b"service_request" in head:
            return "open311"
        return "geojson"
    raise IngestError(
        f"{path.name}: cannot tell the format from the name; pass --format ({', '.join(FORMATS[kind])})"
    )


# A CSV batch is one transaction that holds every row in memory at some point (docs/operations.md, "Large
# files"): measured 9.97 GB peak for a 743 MB, 10-million-row file, i.e. about 13.4 times the file's size.
MEMORY_PER_CSV_BYTE = 14
MEMORY_HEADROOM = 0.8  # use at most this share of the memory that is free now


def available_memory() -> int | None:
    """Bytes of memory free for new work (Linux: MemAvailable), or None where it cannot be told."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _check_memory(path: Path, kind: str, fmt: str) -> None:
    """Refuse, before anything is stored, a concerns CSV whose batch would not fit in memory (no OOM kill)."""
    if kind != "concerns" or fmt != "csv":
        return
    free = available_memory()
    need = path.stat().st_size * MEMORY_PER_CSV_BYTE
    if free is not None and need > free * MEMORY_HEADROOM:
        raise IngestError(
            f"{path.name}: too large to store as one batch on this machine: it needs about "
            f"{need / 1e9:.1f} GB of memory and {free / 1e9:.1f} GB is free; split the file (by month, for "
            "example) and ingest the parts, one batch each"
        )


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    path: Path | str,
    *,
    kind: str = "concerns",
    fmt: str | None = None,
    source: str | None = None,
    layer: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    mapping: Mapping[str, str] | None = None,
    repair: bool = False,
    progress: Progress | None = None,
) -> BatchResult:
    """Ingest one file as one batch. Raises IngestError when the whole file is rejected (nothing stored).

    Re-ingesting a file already stored (same SHA-256, kind and source/layer) stores nothing and says so.
    """
    path = Path(path)
    if kind not in KINDS:
        raise IngestError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    fmt = fmt or detect_format(path, kind)
    if fmt not in FORMATS[kind]:
        raise IngestError(
            f"{path.name}: {kind} cannot be read as {fmt!r}; formats: {', '.join(FORMATS[kind])}"
        )
    if kind == "layer" and not layer:
        raise IngestError(f"{path.name}: a layer needs a name (--layer NAME, e.g. streetlights)")
    if kind == "concerns":
        source = source or path.stem
    _check_memory(path, kind, fmt)
    from koban_geo.store.recovery import recover_torn_batches

    recover_torn_batches(
        con
    )  # connect() does it on every open; here too for connections opened migrate=False
    sha = file_sha256(path)
    earlier = previous_batch(
        con, sha, kind, layer if kind == "layer" else source if kind == "concerns" else None
    )
    if earlier is not None:
        return BatchResult(kind=kind, format=fmt, file=path.name, batch_id=earlier, already_ingested=True)
    if kind == "concerns":
        assert source is not None
        return ingest_concerns(con, settings, path, fmt=fmt, source=source, sha256=sha, mapping=mapping,
                               progress=progress)  # fmt: skip
    from koban_geo.ingest import opendata
    from koban_geo.ingest.limits import FileLimits

    limits = FileLimits.from_settings(settings)
    if kind == "areas":
        return opendata.ingest_areas(
            con, path, sha256=sha, code_field=code_field, name_field=name_field, repair=repair, limits=limits
        )
    if kind == "layer":
        assert layer is not None
        return opendata.ingest_layer(con, path, sha256=sha, layer=layer, limits=limits)
    if kind == "crime":
        return opendata.ingest_crime(con, path, sha256=sha)
    return opendata.ingest_stats(con, path, sha256=sha)


def parse_mapping(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`--map FIELD=COLUMN` options into a dict (the column may contain '=')."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise IngestError(f"--map {pair!r}: expected FIELD=COLUMN")
        mapping[field.strip()] = column.strip()
    return mapping


def summary_json(result: BatchResult) -> str:
    return json.dumps(result.as_dict(), ensure_ascii=False)
