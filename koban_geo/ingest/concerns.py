"""Concerns from residents (CSV, GeoJSON, Open311): stage, anonymise, resolve themes, store all or nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from koban_geo.ingest.batch import BatchResult, IngestError, new_batch_id, record_batch, row_error
from koban_geo.ingest.limits import FileLimits
from koban_geo.ingest.readers import (
    Staged,
    csv_parse_error,
    sniff,
    stage_csv,
    stage_geojson,
    stage_open311,
    utf8_copy,
)
from koban_geo.privacy.anonymise import AnonymisationParams
from koban_geo.privacy.grouping import new_groups
from koban_geo.store.crs import FALLBACK, checked_crs, metric_crs_for, set_store_crs, stored_crs
from koban_geo.store.scope import site_of
from koban_geo.store.settings import Settings
from koban_geo.store.sql import audit, query, transaction

Progress = Callable[[str], None]
_SCRUB_BATCH = 200_000


def _choose_crs(con: duckdb.DuckDBPyConnection, settings: Settings, decimal_comma: bool) -> tuple[str, bool]:
    """The store's metric CRS, and whether this batch sets it (from the setting or the batch's median point)."""
    stored = stored_crs(con)
    if stored:
        return stored, False
    if settings.metric_crs:
        return checked_crs(settings.metric_crs), True
    row = con.execute(
        "SELECT median(lon), median(lat) FROM (SELECT koban_num(lon_raw, $dc) AS lon, koban_num(lat_raw, $dc) AS lat "
        "FROM _staged) WHERE lat BETWEEN -80 AND 84 AND lon BETWEEN -180 AND 180",
        {"dc": decimal_comma},
    ).fetchone()
    if not row or row[0] is None:
        return FALLBACK, False  # nothing valid to place: every row is rejected anyway
    return metric_crs_for(float(row[0]), float(row[1])), True


def _scrub_staged(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Scrubbed descriptions (and whether each id is itself personal data), by line.

    The raw text streams from the file through koban_geo.privacy.scrub in Arrow batches and is never put in a table.
    """
    from koban_geo.privacy.scrub import scrub_texts

    lines: list[pa.Array] = []
    texts: list[pa.Array] = []
    personal: list[pa.Array] = []
    reader = con.execute("SELECT line, text_raw, src_id FROM _staged").to_arrow_reader(_SCRUB_BATCH)
    for batch in reader:
        lines.append(batch.column(0))
        # composed (NFC) first: the rules' letter classes know "ñ", not "n" + a combining tilde
        texts.append(scrub_texts(pc.utf8_normalize(batch.column(1), "NFC")))
        ids = batch.column(2)
        personal.append(pc.not_equal(scrub_texts(ids), ids))
    if not lines:
        return pa.table({"line": pa.array([], pa.int64()), "description": pa.array([], pa.string()),
                         "id_is_personal": pa.array([], pa.bool_())})  # fmt: skip
    return pa.table(
        {"line": pa.concat_arrays(lines), "description": pa.concat_arrays(texts),
         "id_is_personal": pa.concat_arrays(personal)}
    )  # fmt: skip


def _timestamp_format(con: duckdb.DuckDBPyConnection) -> str | None:
    """The one naive form every sampled timestamp of the file has, if any (parsing then tries it first)."""
    for (fmt,) in query(con, "ts_formats").fetchall():
        row = query(con, "ts_sample_misses", {"fmt": fmt}).fetchone()
        if row is None or not row[1]:
            return None
        if row[0] == 0:
            return str(fmt)
    return None


def _classify_unresolved(con: duckdb.DuckDBPyConnection) -> tuple[pa.Table, dict[str, int]]:
    rows = query(con, "concerns_unresolved").fetchall()
    unmapped = Counter(label for _, label, _ in rows if label)
    lines: list[int] = []
    themes: list[str] = []
    confidences: list[float] = []
    flagged: list[bool] = []
    if rows:
        from koban_geo.ingest.classify import classify_texts  # sklearn is imported only when needed

        for (line, _, _), pred in zip(rows, classify_texts([text for _, _, text in rows]), strict=True):
            lines.append(line)
            themes.append(pred.theme)
            confidences.append(pred.confidence)
            flagged.append(pred.flagged)
    table = pa.table(
        {"line": pa.array(lines, pa.int64()), "theme": pa.array(themes, pa.string()),
         "confidence": pa.array(confidences, pa.float64()), "flagged": pa.array(flagged, pa.bool_())}
    )  # fmt: skip
    return table, dict(unmapped.most_common(50))


def ingest_concerns(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    path: Path,
    *,
    fmt: str,
    source: str,
    sha256: str,
    mapping: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    file = path.name
    result = BatchResult(kind="concerns", format=fmt, file=file)
    started = datetime.now()
    note = progress or (lambda _stage: None)
    limits = FileLimits.from_settings(settings)
    with ExitStack() as stack:
        note("reading")
        staged: Staged
        if fmt == "csv":
            dialect = sniff(path, file)
            repaired: list[int] = []
            readable = stack.enter_context(utf8_copy(path, dialect.encoding, repaired))
            staged = stage_csv(con, file, dialect, mapping, readable, limits)
            if repaired:
                staged.parameters["lines_read_as_cp1252"] = {"count": len(repaired), "first": repaired[:20]}
                shown = ", ".join(map(str, repaired[:20])) + (", ..." if len(repaired) > 20 else "")
                result.warnings.append(
                    f"{file}: {len(repaired)} line(s) not valid UTF-8, read as cp1252: {shown}; check their accents"
                )
        elif fmt in ("geojson", "open311"):
            if fmt == "geojson":
                table, staged = stage_geojson(path, file, mapping, limits)
            else:
                labels = {r[0] for r in con.execute("SELECT label FROM theme_mapping").fetchall()}
                table, staged = stage_open311(path, file, labels, limits)
            con.register("_staged", table)
            stack.callback(con.unregister, "_staged")
        else:
            raise IngestError(f"{file}: concerns cannot be read from format {fmt!r}")
        stack.callback(con.execute, "DROP TABLE IF EXISTS _prep; DROP TABLE IF EXISTS _resolved")
        try:
            scrubbed = _scrub_staged(con)  # the first full read of the file
        except duckdb.InvalidInputException as exc:  # a malformed record past the rows sniffed and sampled
            if fmt == "csv":
                raise csv_parse_error(file, exc, limits.max_line_bytes) from exc
            raise
        con.register("_scrubbed", scrubbed)
        stack.callback(con.unregister, "_scrubbed")

        crs, crs_is_new = _choose_crs(con, settings, staged.decimal_comma)
        anon = AnonymisationParams.from_settings(settings, crs, staged.dropped)
        if (
            anon.anonymous_points_layer
            and not con.execute(
                "SELECT 1 FROM layers WHERE site = ? AND layer = ? LIMIT 1",
                [site_of(con), anon.anonymous_points_layer],
            ).fetchone()
        ):
            raise IngestError(
                f"{file}: no layer named {anon.anonymous_points_layer!r} to snap to; ingest it first with "
                f"--kind layer --layer {anon.anonymous_points_layer}"
            )
        note("anonymising")
        ts_format = _timestamp_format(con)
        try:
            query(
                con,
                "concerns_prepare",
                {
                    "decimal_comma": staged.decimal_comma,
                    "tz": settings.timezone,
                    "metric_crs": crs,
                    "fine_m": anon.grid_m,
                    "coarse_m": anon.sensitive_grid_m,
                    "id_prefix": f"{source}:{fmt}:",
                    "now": started,
                    "anon_layer": anon.anonymous_points_layer,
                    "anon_max_m": anon.anonymous_points_max_m,
                    "ts_format": ts_format,
                },
            )
        except duckdb.InvalidInputException as exc:
            if fmt == "csv":
                raise csv_parse_error(file, exc, limits.max_line_bytes) from exc
            raise
        result.read = _scalar(con, "SELECT count(*) FROM _prep")
        if result.read == 0:
            raise IngestError(f"{file}: no rows to ingest (only a header?)")
        result.errors = _row_errors(con, staged, file)
        result.rejected = len(result.errors)

        note("classifying")
        classified, unmapped = _classify_unresolved(con)
        con.register("_classified", classified)
        stack.callback(con.unregister, "_classified")
        query(
            con,
            "concerns_resolve",
            {"source": source, "fine_m": anon.grid_m, "coarse_m": anon.sensitive_grid_m},
        )
        counts = con.execute(
            "SELECT count(*) FILTER (WHERE dup_in_file OR dup_in_store), "
            "count(*) FILTER (WHERE NOT dup_in_file AND NOT dup_in_store) FROM _resolved"
        ).fetchone()
        assert counts is not None
        result.duplicate, to_store = int(counts[0]), int(counts[1])
        result.parameters = {
            "source": source,
            "anonymisation": anon.as_record(),
            "timezone": settings.timezone,
            "timestamp_format": ts_format,
            "classified": classified.num_rows,
            "unmapped_theme_labels": unmapped,
            **{k: v for k, v in staged.parameters.items()},
        }
        if not to_store and not result.duplicate:
            return result  # every row rejected: nothing stored, no batch (exit 2)

        note("storing")
        with transaction(con):
            result.batch_id = new_batch_id(con)
            if crs_is_new:
                set_store_crs(con, crs)
            groups = new_groups(con, source, settings.group_days)
            con.register("_groups", groups)
            stack.callback(con.unregister, "_groups")
            query(con, "concerns_insert", {"source": source, "batch_id": result.batch_id, "metric_crs": crs})
            result.accepted = to_store
            result.parameters["groups"] = len(set(groups.column("group_id").to_pylist()))
            record_batch(con, result, sha256=sha256, source=source, started_at=started)
            audit(con, "ingest", "ingest.concerns", f"batch {result.batch_id}: {file}")
    return result


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _row_errors(con: duckdb.DuckDBPyConnection, staged: Staged, file: str) -> list[str]:
    rows = con.execute("SELECT line, error FROM _prep WHERE error IS NOT NULL ORDER BY line").fetchall()
    if not rows:
        return []
    if staged.where == "line":
        starts = staged.record_lines() if staged.record_lines else None
        return [row_error(file, str(starts[line - 2] if starts else line), error) for line, error in rows]
    label = staged.where
    return [row_error(file, f"{label} {line}", staged.pre_errors.get(line, error)) for line, error in rows]
