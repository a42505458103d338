"""Exports for councils and partners: hotspots, areas, a meeting's priorities and problem cards, as RFC 7946
GeoJSON, CSV or GeoPackage, each through its audience's gate (koban_geo.privacy.audience) and each audited.

    >>> export(con, settings, "areas", "council", Path("areas.geojson"), actor="anna.k")  # doctest: +SKIP
    ExportReport(path=..., what='areas', audience='council', format='geojson', rows=22, ...)

What each tier gets (public and council: never a point, never free text, never a sensitive theme, never a
count under k; a last check, `_guard`, refuses the export if anything slipped through):

| what       | public                                     | council                       | officer / analyst        |
|------------|--------------------------------------------|-------------------------------|--------------------------|
| hotspots   | Gi* cells: count (k-suppressed), gi_bin,   | as public                     | + gi_z, gi_p; sensitive  |
|            | label                                      |                               | themes when named        |
| areas      | koban_geo.analysis.areas.area_counts for the tier   | as public                     | as area_counts gives it  |
| priorities | per item: combined rank and share, each    | as public                     | + points per group,      |
|            | group's rank and share (hidden when a      |                               | participants             |
|            | group has fewer than k phones), geometry   |                               |                          |
| problems   | cards in response, assessment or closed:   | every card: + monthly counts, | everything (scrubbed):   |
|            | place, title, themes, status, actions      | before/after counts (k-supp.),| notes, triangle, concern |
|            | (description, owner org, due, status),     | change %, relative effect     | keys, crime, layers      |
|            | verdict (no numbers)                       |                               |                          |

Formats, from the file's suffix (or `fmt`):

- GeoJSON: koban_geo.store.geojson (WGS 84 lon/lat, no crs member, right-hand rule, 6 decimals, bbox); the
  metadata is the top-level foreign member "koban".
- CSV: UTF-8 with a byte order mark, so Excel opens ä, ö and € correctly (other tools skip the BOM); comma
  separated, CRLF, RFC 4180 quoting. The same attributes as the GeoJSON (lists and objects as JSON text),
  then centroid_lon, centroid_lat and geometry_wkt (6 decimals; empty when a row has no geometry). Text
  that starts with = + - @ gets a leading apostrophe so a spreadsheet never runs it as a formula. The
  metadata goes beside it in `<name>.csv-metadata.json` (the W3C CSVW file name).
- GeoPackage: one layer named after `what` (EPSG:4326, the same geometries as the GeoJSON), the metadata
  as JSON in the layer's description (gpkg_contents) and, key by key, in the table `koban_metadata`.
- GeoParquet 1.1 (`.parquet` or fmt "geoparquet"): WKB geometry, a `bbox` covering column, the `geo`
  metadata; the export's metadata as JSON under the file's `koban` key.

Every format is written from whole columns (koban_geo.outputs.writers, koban_geo.store.geojson). Hotspots
for the analyst tier hold every cell of the study grid (`all_cells`), so esda reproduces their z-scores.

Licence: our exports are under the ODbL 1.0 (`LICENCE`, or `settings.export_licence` if the deployment
sets one): they hold boundaries derived from OpenStreetMap, which the ODbL's share-alike asks to keep under
it. The attribution names OpenStreetMap for the demo geography.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import shapely
import shapely.geometry

from koban_geo import __version__
from koban_geo.analysis.grid import Filter
from koban_geo.outputs.writers import (
    CSV_METADATA_SUFFIX,
    Layer,
    csv_safe,
    write_csv,
    write_geoparquet,
    write_gpkg,
)
from koban_geo.outputs.writers import jsonable as _jsonable
from koban_geo.privacy.audience import RECORD_COLUMNS, TEXT_COLUMNS, Audience, Policy, PrivacyError
from koban_geo.store.geojson import PRECISION, normalised, write_rows
from koban_geo.store.scope import site_of
from koban_geo.store.settings import Settings
from koban_geo.store.sites import get_site
from koban_geo.store.sql import audit, writing
from koban_geo.store.taxonomy import sensitive_codes

__all__ = ["ATTRIBUTION", "CSV_METADATA_SUFFIX", "FORMATS", "KINDS", "LICENCE", "ExportReport", "Layer", "build",
           "csv_safe", "export", "format_of", "write_layer"]  # fmt: skip

KINDS: tuple[str, ...] = ("hotspots", "areas", "priorities", "problems")
FORMATS: dict[str, str] = {".geojson": "geojson", ".json": "geojson", ".csv": "csv", ".gpkg": "gpkg",
                           ".parquet": "geoparquet", ".geoparquet": "geoparquet"}  # fmt: skip
LICENCE = "ODbL-1.0 (Open Database Licence 1.0, https://opendatacommons.org/licenses/odbl/1-0/)"
ATTRIBUTION = (
    "Demo geography © OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright). "
    "Counts: KOBAN Geo, from residents' concerns, aggregated and anonymised as stated in 'privacy'."
)
PUBLIC_PROBLEM_STATUSES = ("response", "assessment", "closed")

# Never in a public or council export (free text and records; `_guard` checks every row).
_PRIVATE_KEYS = (TEXT_COLUMNS | RECORD_COLUMNS | {"notes", "triangle_place", "triangle_victim",
                 "triangle_offender", "concerns", "crime", "layers", "created_by", "sensitive_themes"})  # fmt: skip
_COUNT_KEYS = re.compile(r"^(count|count_.*|.*_count|place_before|place_after|comparison_before|"
                         r"comparison_after|participants|concerns_count|n)$")  # fmt: skip


@dataclass(frozen=True)
class ExportReport:
    """What one export wrote: the file, what and for whom, how many rows, how many counts were hidden."""

    path: Path
    what: str
    audience: str
    format: str
    rows: int
    suppressed: int
    metadata: dict[str, Any] = field(repr=False)
    sidecar: Path | None = None


def format_of(out: Path, fmt: str | None = None) -> str:
    """The export format from `fmt` or else the file's suffix."""
    if fmt:
        name = fmt.lower().lstrip(".")
        if name not in FORMATS.values():
            raise ValueError(f"unknown export format {fmt!r}; formats: geojson, csv, gpkg, geoparquet")
        return name
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{Path(out).name}: cannot tell the format from the name; use .geojson, .csv, .gpkg or .parquet"
        )
    return FORMATS[suffix]


def _filter_meta(flt: Filter | None) -> dict[str, Any]:
    if flt is None:
        return {"themes": None, "since": None, "until": None, "areas": None, "unit": None}
    return {
        "themes": list(flt.themes) if flt.themes is not None else None,
        "since": flt.since.isoformat() if flt.since else None,
        "until": flt.until.isoformat() if flt.until else None,
        "areas": list(flt.areas) if flt.areas is not None else None,
        "unit": flt.unit,
    }


def build(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    what: str,
    audience: Audience | str,
    *,
    flt: Filter | None = None,
    meeting_id: int | None = None,
    lang: str = "en",
    all_cells: bool | None = None,
) -> Layer:
    """The rows and metadata of one export, through the audience's gate (nothing is written). all_cells
    (hotspots): every cell of the study grid (default for the analyst tier; koban_geo.analysis.hotspots)."""
    if what not in KINDS:
        raise ValueError(f"unknown export {what!r}; exports: {', '.join(KINDS)}")
    policy = Policy.for_audience(audience, settings)
    flt = flt or Filter(unit=settings.count_unit)
    if what == "hotspots":
        rows, extra = _hotspots(con, settings, policy, flt, all_cells)
    elif what == "areas":
        rows, extra = _areas(con, settings, policy, flt)
    elif what == "priorities":
        if meeting_id is None:
            raise ValueError("a priorities export names its meeting (meeting_id / --meeting)")
        rows, extra = _priorities(con, settings, policy, meeting_id, lang)
    else:
        rows, extra = _problems(con, settings, policy, flt)
    rows = list(zip(normalised([g for g, _ in rows]).tolist(), [p for _, p in rows], strict=True))
    meta = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "site": _site_meta(con),
        "what": what,
        "audience": str(policy.audience),
        "filters": {**_filter_meta(flt), **({"meeting_id": meeting_id} if meeting_id is not None else {})},
        "privacy": policy.parameters(),
        "precision_note": policy.precision_note(lang),
        "coordinates": f"WGS 84 longitude/latitude (EPSG:4326), {PRECISION} decimals (about 0.1 m); "
        "places were snapped before they were stored, so no position is finer than its grid",
        "licence": getattr(settings, "export_licence", None) or LICENCE,
        "attribution": ATTRIBUTION,
        "generator": f"KOBAN Geo {__version__}",
        "rows": len(rows),
        "suppressed": sum(1 for _, p in rows if p.get("suppressed") is True),
        **extra,
    }
    if policy.audience.aggregates_only:
        _guard(rows, policy)
    return Layer(what, rows, meta)


def export(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    what: str,
    audience: Audience | str,
    out: Path | str,
    fmt: str | None = None,
    *,
    actor: str,
    flt: Filter | None = None,
    meeting_id: int | None = None,
    lang: str = "en",
    wkt: bool = True,
    all_cells: bool | None = None,
) -> ExportReport:
    """Write one export (see the module docstring) and its audit_log row (who, what, tier, filters, rows,
    file name). `wkt=False` leaves the geometry_wkt column out of a CSV; `all_cells` as in `build`."""
    if not actor or not actor.strip():
        raise ValueError("an export names who made it (actor)")
    out = Path(out)
    kind = format_of(out, fmt)
    if not out.parent.is_dir():
        raise ValueError(f"no folder {out.parent} to write {out.name} into")
    layer = build(
        con, settings, what, audience, flt=flt, meeting_id=meeting_id, lang=lang, all_cells=all_cells
    )
    # Crash safety: the files are written in a hidden folder beside the target, the audit row is committed,
    # and only then are they renamed into place. A kill leaves no half-written export under the real name.
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        staged, sidecar = staging / out.name, None
        sidecar = write_layer(staged, layer, kind, wkt=wkt)
        detail = {"what": what, "audience": layer.meta["audience"], "format": kind, "file": out.name,
                  "rows": layer.meta["rows"], "suppressed": layer.meta["suppressed"],
                  "filters": layer.meta["filters"]}  # fmt: skip
        with writing(con) as cur:
            audit(cur, actor.strip(), "export", json.dumps(detail, ensure_ascii=False))
        staged.replace(out)
        if sidecar is not None:
            sidecar = sidecar.replace(out.with_name(sidecar.name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportReport(out, what, layer.meta["audience"], kind, layer.meta["rows"], layer.meta["suppressed"],
                        layer.meta, sidecar)  # fmt: skip


def write_layer(out: Path, layer: Layer, kind: str, *, wkt: bool = True) -> Path | None:
    """Write a built layer in one format (no audit, no staging: `export` does both); returns the CSV's
    metadata file, else None. Every format is written from whole columns (koban_geo.outputs.writers)."""
    if kind == "geojson":
        write_rows(out, layer.rows, layer.meta)
        return None
    if kind == "csv":
        return write_csv(out, layer, wkt=wkt)
    if kind == "gpkg":
        write_gpkg(out, layer)
    elif kind == "geoparquet":
        write_geoparquet(out, layer)
    else:
        raise ValueError(f"unknown export format {kind!r}")
    return None


# ---------------------------------------------------------------------------------------------------------
# The four kinds
# ---------------------------------------------------------------------------------------------------------


def _hotspots(
    con: duckdb.DuckDBPyConnection, settings: Settings, policy: Policy, flt: Filter, all_cells: bool | None
) -> tuple[list[Any], dict[str, Any]]:
    import numpy as np

    from koban_geo.analysis.grid import study_grid
    from koban_geo.analysis.hotspots import hotspots
    from koban_geo.store.crs import transformer

    cell_m = 100
    rows, meta = hotspots(con, settings, method="gistar", flt=flt, audience=policy.audience, cell_m=cell_m,
                          all_cells=all_cells)  # fmt: skip
    crs = study_grid(con, cell_m).crs
    centres = shapely.centroid(np.array([g for g, _ in rows], dtype=object))  # one call for every cell
    x, y = transformer("EPSG:4326", crs).transform(shapely.get_x(centres), shapely.get_y(centres))
    ix, iy = (
        np.floor(np.asarray(x) / cell_m).astype(np.int64),
        np.floor(np.asarray(y) / cell_m).astype(np.int64),
    )
    prefix = f"{crs.split(':')[1]}:{cell_m}:"
    out = [(geom, {"cell_id": f"{prefix}{i}:{j}", **props})
           for (geom, props), i, j in zip(rows, ix.tolist(), iy.tolist(), strict=True)]  # fmt: skip
    out.sort(key=lambda r: r[1]["cell_id"])
    extra: dict[str, Any] = {k: meta[k] for k in ("method", "cell_m", "weights", "fdr", "all_cells",
                                                  "study_cells") if k in meta}  # fmt: skip
    extra["filters_applied"] = meta.get("filter")  # the themes actually counted for this tier
    return out, {"hotspots": extra}


def _areas(
    con: duckdb.DuckDBPyConnection, settings: Settings, policy: Policy, flt: Filter
) -> tuple[list[Any], dict[str, Any]]:
    from koban_geo.analysis.areas import area_counts

    rows, meta = area_counts(con, settings, flt=flt, audience=policy.audience)
    extra = {k: v for k, v in meta.items() if k not in ("privacy", "precision_note", "filter", "audience")}
    extra["filters_applied"] = meta.get("filter")  # the themes actually counted for this tier
    return sorted(rows, key=lambda r: r[1]["area_code"]), {"areas": _jsonable(extra)}


def _share(value: float) -> float:
    return round(100.0 * value, 1)


def _ranks(values: Mapping[str, float]) -> dict[str, int]:
    """1 = largest; equal values share a rank."""
    rounded = {k: round(v, 12) for k, v in values.items()}
    return {k: 1 + sum(o > v for o in rounded.values()) for k, v in rounded.items()}


def _priorities(
    con: duckdb.DuckDBPyConnection, settings: Settings, policy: Policy, meeting_id: int, lang: str
) -> tuple[list[Any], dict[str, Any]]:
    """One row per item voted on, ranked by the combined result; per group rank and share.

    The phones per group go through `release` like any count: for public tiers a group under k (and, by
    complementary suppression, one more) is hidden. A hidden group (without a paper or show-of-hands count)
    hides every group's figures, since with the weights published one group's shares follow from the
    combined result and the others'; with fewer than k phones in all (and no counts), the combined result is
    hidden too.
    """
    import pandas as pd

    from koban_geo.community.meetings import ROLES
    from koban_geo.community.voting import results
    from koban_geo.privacy.audience import release

    res = results(con, meeting_id)
    k = policy.k
    counted_roles = {f.role for f in res.facilitator_counts}
    from koban_geo.store.sql import cursor, query

    cur = cursor(con)  # koban_record_key is a TEMP macro: a cursor of our own has it
    try:
        keys = dict(query(cur, "vote_participant_keys", {"meeting_id": meeting_id}).fetchall())
    finally:
        cur.close()
    phones = pd.DataFrame({"role": list(ROLES), "participants": [res.groups[r].participants for r in ROLES],
                           "ckey": [int(keys.get(r, 0)) for r in ROLES]})  # fmt: skip
    shown = release(phones, policy.audience, settings, count="participants", theme=None, themes_counted=())
    participants = {
        role: None if pd.isna(n) else int(n)
        for role, n in zip(ROLES, shown.frame["participants"], strict=True)
    }
    hidden = {r for r in ROLES if participants[r] is None and res.groups[r].participants > 0}
    total = shown.totals["all"]["participants"].iloc[0] if "all" in shown.totals else res.ballots
    ballots = None if pd.isna(total) else int(total)
    hide_groups = policy.audience.aggregates_only and bool(hidden - counted_roles)
    hide_all = policy.audience.aggregates_only and ballots is None and not counted_roles
    group_ranks = {r: _ranks(res.groups[r].shares) for r in ROLES}
    rows = []
    for item in res.ranking:
        cand = item.candidate
        props: dict[str, Any] = {
            "key": cand.key,
            "kind": cand.kind,
            "label": cand.label(lang),
            "rank": None if hide_all else item.rank,
            "combined_pct": None if hide_all else _share(item.combined),
        }
        for role in ROLES:
            g = res.groups[role]
            voted = g.total > 0 and not hide_groups and not hide_all
            props[f"{role}_rank"] = group_ranks[role][cand.key] if voted else None
            props[f"{role}_pct"] = _share(g.shares[cand.key]) if voted else None
        if policy.audience.aggregates_only:
            props["concerns_count"] = cand.count if cand.count is None or cand.count >= k else None
        else:
            props["concerns_count"] = cand.count
            props["points"] = item.points
            for role in ROLES:
                props[f"{role}_points"] = res.groups[role].points[cand.key]
        rows.append((cand.geometry, props))
    meeting = res.meeting
    extra = {
        "meeting": {
            "id": meeting.id, "title": meeting.title, "date": meeting.date.isoformat(),
            "areas": list(meeting.areas), "status": meeting.status, "method": meeting.rules.method,
            "weights": dict(meeting.weights), "formula": res.formula, "ballots": ballots,
            "participants": participants, "group_figures_hidden": hide_groups, "all_figures_hidden": hide_all,
        }
    }  # fmt: skip
    return rows, extra


def _problems(
    con: duckdb.DuckDBPyConnection, settings: Settings, policy: Policy, flt: Filter
) -> tuple[list[Any], dict[str, Any]]:
    from koban_geo.community.problem_card import card
    from koban_geo.community.problems import get_problem, list_problems

    listing = list_problems(con, PUBLIC_PROBLEM_STATUSES if policy.audience == Audience.PUBLIC else None)
    rows = []
    for problem_id in sorted(int(i) for i in listing["id"]):
        problem = get_problem(con, problem_id)
        if flt.themes is not None and not set(problem.themes) & set(flt.themes):
            continue
        shown = card(con, settings, problem, audience=policy.audience, since=flt.since, until=flt.until)
        if shown is None:
            continue
        rows.append((shown.place, _flat_card(shown.properties)))
    statuses = PUBLIC_PROBLEM_STATUSES if policy.audience == Audience.PUBLIC else None
    return rows, {"problems": {"statuses": list(statuses) if statuses else "all",
                               "verdict_rule": "koban_geo.analysis.assessment.assessment_figures"}}  # fmt: skip


def _flat_card(props: Mapping[str, Any]) -> dict[str, Any]:
    """A card's nested properties as one flat row (lists of actions, months... stay lists)."""
    flat: dict[str, Any] = {k: v for k, v in props.items() if k not in ("scanning", "analysis", "assessment")}
    flat["themes"] = ", ".join(props["themes"])
    if "sensitive_themes" in flat:
        flat["sensitive_themes"] = ", ".join(flat["sensitive_themes"])
    for key in ("created_at", "updated_at"):
        if isinstance(flat.get(key), datetime):
            flat[key] = flat[key].isoformat(timespec="seconds")
    scanning = props.get("scanning")
    if scanning is not None:
        flat["count"] = scanning["total"]
        flat["trend"] = scanning["trend"]
        flat["months"] = scanning["months"]
        if "trend_p" in scanning:
            flat["trend_p"] = round(scanning["trend_p"], 6) if scanning["trend_p"] is not None else None
            flat["concerns"] = [f"{c['source']}/{c['id']}" for c in scanning["concerns"]]
    analysis = props.get("analysis")
    if analysis is not None:
        for side, text in analysis["triangle"].items():
            flat[f"triangle_{side}"] = text
        flat["notes"] = analysis["notes"]
        flat["crime"] = analysis["crime"]
        flat["layers"] = analysis["layers"]
    flat["actions"] = props["actions"]
    assessment = props.get("assessment") or {}
    for key in ("response_start", "period_days", "comparison", "verdict_code", "verdict", "small_numbers"):
        flat[key] = assessment.get(key)
    if "scanning" in props:
        for key in ("place_before", "place_after", "comparison_before", "comparison_after", "change_pct",
                    "comparison_change_pct", "relative_effect"):  # fmt: skip
            flat[key] = assessment.get(key)
    for key in ("effect_low", "effect_high", "warnings"):
        if key in assessment:
            flat[key] = assessment[key]
    return flat


# ---------------------------------------------------------------------------------------------------------
# The last check, and shared helpers
# ---------------------------------------------------------------------------------------------------------


def _guard(rows: Iterable[tuple[shapely.Geometry | None, Mapping[str, Any]]], policy: Policy) -> None:
    """Refuse a public or council export holding a point, free text or records, a sensitive theme or a
    count under k (whatever produced the rows), at the top level or in a list of objects in a property."""
    for geom, props in rows:
        if geom is not None and geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise PrivacyError(f"a {policy.audience} export never holds a {geom.geom_type}")
        banned = set(props) & _PRIVATE_KEYS
        if banned:
            raise PrivacyError(f"a {policy.audience} export never holds {sorted(banned)}")
        _guard_values(props, policy)


def _guard_values(props: Mapping[str, Any], policy: Policy) -> None:
    sensitive = sensitive_codes()
    for key, value in props.items():
        is_count = _COUNT_KEYS.match(key) and isinstance(value, int) and not isinstance(value, bool)
        if is_count and 0 < value < policy.k:
            raise PrivacyError(f"a {policy.audience} export never shows a count under {policy.k}: {key}")
        themed = key in ("theme", "themes") and isinstance(value, str)
        if themed and {t.strip() for t in value.split(",")} & sensitive:
            raise PrivacyError(f"a {policy.audience} export never names a sensitive theme")
        if isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, Mapping):
                    _guard_values(item, policy)


def _site_meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The site an export belongs to (store.sites), named in its metadata."""
    site = get_site(con, site_of(con))
    return {"code": site.code, "name": site.name}
