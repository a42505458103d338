"""Open data: area boundaries, named point/polygon layers, recorded crime (data.police.uk) and area statistics."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from koban_geo.ingest.batch import BatchResult, IngestError, new_batch_id, record_batch, row_error
from koban_geo.ingest.dialect import detect_decimal_comma, normalise_header
from koban_geo.ingest.limits import DEFAULT_LIMITS, FileLimits, check_vertices
from koban_geo.ingest.readers import (
    csv_parse_error,
    feature_properties,
    legacy_crs,
    load_json,
    register_csv_view,
    sniff,
    utf8_copy,
)
from koban_geo.store.crs import checked_crs, metric_crs_for, set_store_crs, stored_crs
from koban_geo.store.scope import site_of
from koban_geo.store.sql import audit, query, transaction
from koban_geo.store.taxonomy import policeuk_themes

_CODE_PROPS = ("code", "id", "area_code", "areacode", "buurtcode", "wijkcode", "gemeentecode", "kod", "teryt",
               "tunnus", "codigo", "código", "lsoa21cd", "lsoa11cd", "ref")  # fmt: skip
_NAME_PROPS = ("name", "naam", "nom", "nazwa", "nimi", "nombre", "nome", "buurtnaam", "wijknaam",
               "lsoa21nm", "lsoa11nm")  # fmt: skip

POLICEUK_COLUMNS = {
    "crime_id": "Crime ID", "month": "Month", "reported_by": "Reported by", "falls_within": "Falls within",
    "lon": "Longitude", "lat": "Latitude", "location": "Location", "lsoa_code": "LSOA code",
    "lsoa_name": "LSOA name", "crime_type": "Crime type", "last_outcome": "Last outcome category",
    "context": "Context",
}  # fmt: skip
STATS_COLUMNS = {
    "area_code": ("area_code", "area", "code", "gebiedscode", "buurtcode", "kod", "tunnus", "codigo"),
    "period": ("period", "year", "jaar", "periode", "annee", "rok", "vuosi", "ano", "año"),
    "indicator": ("indicator", "variable", "measure", "indicateur", "wskaznik", "indikaattori", "indicador"),
    "value": ("value", "waarde", "valeur", "wartosc", "arvo", "valor"),
}


def _features(path: Path, file: str, limits: FileLimits) -> tuple[list[Any], str]:
    doc = load_json(path, file, limits)
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(doc.get("features"), list)
    ):
        raise IngestError(f"{file}: wrong JSON type: expected a GeoJSON FeatureCollection")
    try:
        crs = legacy_crs(doc) or "EPSG:4326"
    except IngestError as exc:
        raise IngestError(f"{file}: {exc}") from exc
    return doc["features"], crs


def _pick(props: dict[str, Any], chosen: str | None, candidates: Sequence[str]) -> str | None:
    if chosen:
        return chosen if chosen in props else None
    by_norm = {normalise_header(k): k for k in props}
    return next((by_norm[c] for c in candidates if c in by_norm), None)


def ingest_areas(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    sha256: str,
    code_field: str | None = None,
    name_field: str | None = None,
    repair: bool = False,
    limits: FileLimits = DEFAULT_LIMITS,
) -> BatchResult:
    """Neighbourhood boundaries: all or nothing, since a partial set of areas would mislead every count."""
    file = path.name
    started = datetime.now()
    features, crs = _features(path, file, limits)
    result = BatchResult(kind="areas", format="geojson", file=file, read=len(features))
    if not features:
        raise IngestError(f"{file}: the FeatureCollection has no features")
    rows: dict[str, list[Any]] = {"line": [], "code": [], "name": [], "geojson": []}
    vertices = 0
    for n, feature in enumerate(features, start=1):
        props = feature_properties(feature)  # {} unless a JSON object
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        code_key = _pick(props, code_field, _CODE_PROPS)
        name_key = _pick(props, name_field, _NAME_PROPS)
        if code_key is None or props.get(code_key) in (None, ""):
            raise IngestError(f"{file}:feature {n}: code: missing (name the property with --code-field)")
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            got = geometry.get("type") if isinstance(geometry, dict) else "none"
            raise IngestError(f"{file}:feature {n}: geometry: expected Polygon or MultiPolygon, got {got}")
        vertices = check_vertices(geometry, file, n, limits, vertices)  # before any geometry work
        code = str(props[code_key]).strip()
        rows["line"].append(n)
        rows["code"].append(code)
        rows["name"].append(str(props.get(name_key) or code) if name_key else code)
        rows["geojson"].append(json.dumps(geometry))
    seen: dict[str, int] = {}
    for n, code in zip(rows["line"], rows["code"], strict=True):
        if code in seen:
            raise IngestError(f"{file}:feature {n}: code: {code!r} already used by feature {seen[code]}")
        seen[code] = n
    with ExitStack() as stack:
        con.register("_staged_areas", pa.table(rows))
        stack.callback(con.unregister, "_staged_areas")
        stack.callback(con.execute, "DROP TABLE IF EXISTS _areas_new")
        try:
            query(con, "areas_prepare", {"source_crs": checked_crs(crs), "repair": repair})
        except duckdb.Error as exc:
            raise IngestError(f"{file}: geometry cannot be read: {str(exc).splitlines()[0]}") from exc
        invalid = con.execute("SELECT line FROM _areas_new WHERE NOT was_valid ORDER BY line").fetchall()
        if invalid and not repair:
            lines = ", ".join(str(r[0]) for r in invalid[:10])
            raise IngestError(
                f"{file}:feature {invalid[0][0]}: geometry: invalid polygon (features {lines}); "
                "rerun with --repair to fix them with ST_MakeValid"
            )
        empty = con.execute(
            "SELECT line FROM _areas_new WHERE geom IS NULL OR ST_IsEmpty(geom) LIMIT 1"
        ).fetchone()
        if empty:
            raise IngestError(f"{file}:feature {empty[0]}: geometry: empty after repair")
        result.parameters = {"source_crs": crs, "repaired": len(invalid), "code_field": code_field,
                             "name_field": name_field}  # fmt: skip
        with transaction(con):
            result.batch_id = new_batch_id(con)
            if stored_crs(con) is None:
                centre = con.execute(
                    "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Union_Agg(geom)) AS c FROM _areas_new)"
                ).fetchone()
                if centre and centre[0] is not None:
                    set_store_crs(con, metric_crs_for(float(centre[0]), float(centre[1])))
            query(con, "areas_store", {"batch_id": result.batch_id})
            query(con, "areas_assign")
            result.accepted = len(features)
            record_batch(con, result, sha256=sha256, source=None, started_at=started)
            audit(con, "ingest", "ingest.areas", f"batch {result.batch_id}: {file}")
    return result


def ingest_layer(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    sha256: str,
    layer: str,
    limits: FileLimits = DEFAULT_LIMITS,
) -> BatchResult:
    """A named open-data layer; a new file for the same layer replaces its features.

    A geometry over the per-geometry vertex limit is a rejected feature; passing the per-file limit rejects
    the whole file.
    """
    file = path.name
    started = datetime.now()
    features, crs = _features(path, file, limits)
    per_file = FileLimits(max_vertices_per_geometry=limits.max_vertices_per_file,
                          max_vertices_per_file=limits.max_vertices_per_file)  # fmt: skip
    vertices = 0
    result = BatchResult(kind="layer", format="geojson", file=file, read=len(features))
    rows: dict[str, list[Any]] = {"line": [], "feature_id": [], "properties": [], "geojson": []}
    for n, feature in enumerate(features, start=1):
        props = feature_properties(feature)  # {} unless a JSON object
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or not geometry.get("type"):
            result.errors.append(row_error(file, f"feature {n}", "geometry: missing"))
            continue
        try:
            check_vertices(geometry, file, n, limits)
        except IngestError as exc:
            result.errors.append(str(exc))
            continue
        vertices = check_vertices(geometry, file, n, per_file, vertices)
        fid = feature.get("id", props.get("id", n))
        rows["line"].append(n)
        rows["feature_id"].append(str(fid))
        rows["properties"].append(json.dumps(props, ensure_ascii=False))
        rows["geojson"].append(json.dumps(geometry))
    result.rejected = len(result.errors)
    if not rows["line"]:
        return result
    with ExitStack() as stack:
        con.register("_staged_layer", pa.table(rows))
        stack.callback(con.unregister, "_staged_layer")
        with transaction(con):
            result.batch_id = new_batch_id(con)
            try:
                query(
                    con,
                    "layer_store",
                    {"layer": layer, "batch_id": result.batch_id, "source_crs": checked_crs(crs)},
                )
            except duckdb.Error as exc:
                raise IngestError(f"{file}: geometry cannot be read: {str(exc).splitlines()[0]}") from exc
            stored = con.execute(
                "SELECT count(*) FROM layers WHERE site = ? AND layer = ?", [site_of(con), layer]
            ).fetchone()
            result.accepted = int(stored[0]) if stored else 0
            result.duplicate = len(rows["line"]) - result.accepted
            result.parameters = {"layer": layer, "source_crs": crs}
            record_batch(con, result, sha256=sha256, source=layer, started_at=started)
            audit(con, "ingest", "ingest.layer", f"batch {result.batch_id}: {file} -> {layer}")
    return result


def _csv_picks(file: str, headers: list[str], wanted: dict[str, tuple[str, ...]]) -> dict[str, int]:
    norm = [normalise_header(h) for h in headers]
    picks: dict[str, int] = {}
    missing: list[str] = []
    for target, names in wanted.items():
        found = next((norm.index(normalise_header(n)) for n in names if normalise_header(n) in norm), None)
        if found is None:
            missing.append(repr(names[0]))
        else:
            picks[target] = found
    if missing:
        raise IngestError(f"{file}:1: missing column(s) {', '.join(missing)} (headers: {', '.join(headers)})")
    return picks


def ingest_crime(con: duckdb.DuckDBPyConnection, path: Path, *, sha256: str) -> BatchResult:
    """data.police.uk street-level crime CSV into `crime` (its locations are already anonymised at source)."""
    file = path.name
    started = datetime.now()
    result = BatchResult(kind="crime", format="policeuk", file=file)
    dialect = sniff(path, file)
    picks = _csv_picks(file, dialect.headers, {k: (v,) for k, v in POLICEUK_COLUMNS.items()})
    themes = policeuk_themes()
    with ExitStack() as stack:
        readable = stack.enter_context(utf8_copy(path, dialect.encoding))
        register_csv_view(con, file, dialect, readable, picks, "_staged_crime")
        con.register("_crime_themes", pa.table({"crime_type": list(themes), "theme": list(themes.values())}))
        stack.callback(con.unregister, "_crime_themes")
        stack.callback(con.execute, "DROP TABLE IF EXISTS _crime_new; DROP VIEW IF EXISTS _staged_crime")
        try:
            query(con, "crime_prepare")
        except duckdb.InvalidInputException as exc:
            raise csv_parse_error(file, exc) from exc
        counts = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE error IS NULL AND NOT duplicate), "
            "count(*) FILTER (WHERE error IS NULL AND duplicate) FROM _crime_new"
        ).fetchone()
        assert counts is not None
        result.read, to_store, result.duplicate = (int(c) for c in counts)
        if result.read == 0:
            raise IngestError(f"{file}: no rows to ingest (only a header?)")
        errors = con.execute(
            "SELECT line, error FROM _crime_new WHERE error IS NOT NULL ORDER BY line"
        ).fetchall()
        result.errors = [row_error(file, str(line), error) for line, error in errors]
        result.rejected = len(errors)
        unknown = con.execute(
            "SELECT DISTINCT crime_type FROM _crime_new WHERE error IS NULL AND theme IS NULL ORDER BY 1"
        ).fetchall()
        result.parameters = {"unmapped_crime_types": [r[0] for r in unknown]}
        if not to_store:
            return result
        with transaction(con):
            result.batch_id = new_batch_id(con)
            query(con, "crime_store", {"batch_id": result.batch_id})
            result.accepted = to_store
            record_batch(con, result, sha256=sha256, source=None, started_at=started)
            audit(con, "ingest", "ingest.crime", f"batch {result.batch_id}: {file}")
    return result


def ingest_stats(con: duckdb.DuckDBPyConnection, path: Path, *, sha256: str) -> BatchResult:
    """Area statistics (area_code, period, indicator, value); a later value for the same key replaces it."""
    file = path.name
    started = datetime.now()
    result = BatchResult(kind="stats", format="csv", file=file)
    dialect = sniff(path, file)
    picks = _csv_picks(file, dialect.headers, STATS_COLUMNS)
    with ExitStack() as stack:
        readable = stack.enter_context(utf8_copy(path, dialect.encoding))
        register_csv_view(con, file, dialect, readable, picks, "_staged_stats")
        stack.callback(con.execute, "DROP TABLE IF EXISTS _stats_new; DROP VIEW IF EXISTS _staged_stats")
        try:
            sample = [r[0] for r in con.sql("SELECT value FROM _staged_stats LIMIT 1000").fetchall()]
            decimal_comma = dialect.delimiter != "," and detect_decimal_comma(sample)
            query(con, "stats_prepare", {"decimal_comma": decimal_comma})
        except duckdb.InvalidInputException as exc:
            raise csv_parse_error(file, exc) from exc
        errors = con.execute(
            "SELECT line, error FROM _stats_new WHERE error IS NOT NULL ORDER BY line"
        ).fetchall()
        total = con.execute("SELECT count(*) FROM _stats_new").fetchone()
        result.read = int(total[0]) if total else 0
        if result.read == 0:
            raise IngestError(f"{file}: no rows to ingest (only a header?)")
        result.errors = [row_error(file, str(line), error) for line, error in errors]
        result.rejected = len(errors)
        result.parameters = {"decimal_comma": decimal_comma, "delimiter": dialect.delimiter}
        if result.rejected == result.read:
            return result
        with transaction(con):
            result.batch_id = new_batch_id(con)
            query(con, "stats_store", {"batch_id": result.batch_id})
            result.accepted = result.read - result.rejected
            record_batch(con, result, sha256=sha256, source=None, started_at=started)
            audit(con, "ingest", "ingest.stats", f"batch {result.batch_id}: {file}")
    return result
