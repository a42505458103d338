"""Ingest benchmark: N concerns from a Finnish CSV export into the store, anonymised, against the usual way.

    python bench/ingest.py                      # 100,000 and 1,000,000 rows, writes bench/README.md
    python bench/ingest.py --rows 100000 --no-readme

Contenders, each in a fresh process (so the peak RSS is its own), timed from reading the CSV to the commit:
  koban           `ingest_file(..., kind="concerns")` into a fresh store that already holds the areas.
  baseline        the usual analyst pipeline: pandas + geopandas points + `sjoin` + Python `re` scrubbing
                  (text columns as Python objects, as with pandas 2 or `future.infer_string=False`).
  baseline-arrow  the same code on pandas 3's default `str` dtype, where `Series.str.replace(regex=True)`
                  quietly runs pyarrow's RE2 instead of `re` for the patterns RE2 supports.
Both write the same rows and columns into the same `concerns` table (PK + R-tree); the outputs are compared.
Generated inputs are cached in --out (gitignored). Not a test: nothing here asserts a wall-clock time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import _common
from _common import GRID, inputs

HERE = Path(__file__).resolve().parent
CONTENDERS = ("koban", "baseline", "baseline-arrow")
DEFAULT_CONTENDERS = CONTENDERS
SOURCE = "bench"
METRIC_CRS = "EPSG:32635"  # what the store picks for Helsinki (UTM 35N); the baseline uses it too
PACKAGES = (
    "duckdb",
    "duckdb-extension-spatial",
    "pandas",
    "geopandas",
    "shapely",
    "pyproj",
    "pyarrow",
    "numpy",
)

# ----------------------------------------------------------------------------------------------------------
# Contenders (each runs in its own child process)
# ----------------------------------------------------------------------------------------------------------


def _fresh(db: Path) -> None:
    for path in (db, Path(f"{db}.wal")):
        path.unlink(missing_ok=True)


def run_koban(csv_path: Path, areas: Path, db: Path) -> dict[str, Any]:
    from koban_geo.ingest import ingest_file
    from koban_geo.store.db import connect
    from koban_geo.store.settings import Settings

    _fresh(db)
    settings = Settings(db=db)
    con = connect(db)
    ingest_file(con, settings, areas, kind="areas")  # untimed: the store is set up before the work
    # ingest_concerns reports each stage as it starts; before "reading": the SHA-256 and re-ingest check.
    starts = {"reading": "read+scrub", "anonymising": "prepare", "classifying": "classify+resolve",
              "storing": "insert+groups+commit"}  # fmt: skip
    marks: list[tuple[str, float]] = []
    with _common.RssSampler() as rss:
        rss.stage = "hash"

        def note(stage: str) -> None:
            marks.append((starts.get(stage, stage), time.perf_counter()))
            rss.stage = starts.get(stage, stage)

        started = time.perf_counter()
        result = ingest_file(con, settings, csv_path, kind="concerns", source=SOURCE, progress=note)
        seconds = time.perf_counter() - started
    stored = con.execute("SELECT count(*) FROM concerns WHERE source = ?", [SOURCE]).fetchone()
    con.close()
    stages: dict[str, float] = {}
    spans = [("hash", started), *marks]
    for (stage, at), (_, until) in zip(spans, [*marks, ("", started + seconds)], strict=True):
        stages[stage] = round(until - at, 3)
    return {"seconds": seconds, "stored": int(stored[0]) if stored else 0, "read": result.read,
            "rejected": result.rejected, "stages": stages, "peak_rss_mb_by_stage": rss.peaks,
            "classified": result.parameters.get("classified")}  # fmt: skip


def run_baseline(csv_path: Path, areas_path: Path, db: Path, *, arrow_strings: bool) -> dict[str, Any]:
    """The usual analyst pipeline, doing the same work as `ingest_file` with the same output rows."""
    import hashlib
    import re

    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import shapely

    from koban_geo.privacy.scrub import RULES
    from koban_geo.store.db import connect
    from koban_geo.store.settings import Settings
    from koban_geo.store.taxonomy import normalise_label, themes

    # Untimed set-up: a store with the same schema (so the INSERT maintains the same PK and R-tree),
    # the areas as a GeoDataFrame, the label -> theme dictionary.
    _fresh(db)
    con = connect(db)
    areas = gpd.read_file(areas_path)[["code", "geometry"]]
    codes = {t.code for t in themes()}
    label_to_theme = {normalise_label(label): t.code for t in themes() for label in t.labels.values()}
    group_days = Settings(db=db).group_days
    sensitive = [t.code for t in themes() if t.sensitive]
    text = "str" if arrow_strings else object
    stages: dict[str, float] = {}
    clock = [time.perf_counter()]

    def mark(name: str) -> None:
        now = time.perf_counter()
        stages[name] = round(now - clock[0], 3)
        clock[0] = now

    def validated(rule: Any) -> Any:
        def replace(match: re.Match[str]) -> str:
            if rule.validator(match.group(2)):
                return match.group(1) + rule.placeholder + match.group(3)
            return match.group(0)

        return replace

    def scrub(values: pd.Series) -> pd.Series:
        for rule in RULES:
            repl = validated(rule) if rule.validator else rule.replacement
            once = values.str.replace(rule.pattern, repl, regex=True)
            changed = once.notna() & (once != values)
            if (
                changed.any()
            ):  # a second pass where something changed: adjacent matches (as koban_geo.privacy.scrub)
                once = once.copy()
                once[changed] = once[changed].str.replace(rule.pattern, repl, regex=True)
            values = once
        return values

    started = time.perf_counter()
    clock[0] = started
    df = pd.read_csv(csv_path, sep=";", decimal=",",
                     dtype={"tunnus": text, "ilmoitettu": text, "aihe": text, "kuvaus": text})  # fmt: skip
    mark("read_csv")
    reported = pd.to_datetime(df["ilmoitettu"], format="%d.%m.%Y %H:%M", dayfirst=True, errors="coerce")
    df["reported_at"] = reported.dt.floor("h")
    ok = df["reported_at"].notna() & df["leveysaste"].between(-90, 90) & df["pituusaste"].between(-180, 180)
    df = df[ok & ~((df["leveysaste"] == 0) & (df["pituusaste"] == 0))].reset_index(drop=True)
    label = df["aihe"].str.strip().str.lower()
    df["theme"] = label.map(label_to_theme).fillna("other")
    df["theme_source"] = np.where(label.isin(codes), "given", np.where(label.isin(label_to_theme), "mapped",
                                                                       "default"))  # fmt: skip
    mark("parse")

    points = gpd.GeoSeries(gpd.points_from_xy(df["pituusaste"], df["leveysaste"]), crs="EPSG:4326")
    metric = points.to_crs(METRIC_CRS)
    cell = np.where(df["theme"].isin(sensitive), 500, 100)
    snapped_x = np.floor(metric.x.to_numpy() / cell) * cell + cell / 2
    snapped_y = np.floor(metric.y.to_numpy() / cell) * cell + cell / 2
    snapped = gpd.GeoSeries(gpd.points_from_xy(snapped_x, snapped_y), crs=METRIC_CRS).to_crs("EPSG:4326")
    lon6, lat6 = np.round(snapped.x.to_numpy(), 6), np.round(snapped.y.to_numpy(), 6)
    df["snap_m"] = cell.astype("int32")
    mark("project+snap")

    found = gpd.sjoin(gpd.GeoDataFrame({"row": np.arange(len(df))}, geometry=points), areas, how="left",
                      predicate="intersects")  # fmt: skip
    found = found.sort_values(["row", "code"]).drop_duplicates("row")
    df["area_code"] = found.set_index("row")["code"].reindex(np.arange(len(df))).to_numpy()
    mark("sjoin")

    description = scrub(df["kuvaus"]).str.strip()
    df["description"] = description.where(description.str.len() > 0)
    raw_id = df["tunnus"].str.strip()
    clean_id = scrub(raw_id)
    personal = clean_id.notna() & (clean_id != raw_id)  # an id that is itself personal data is hashed
    df["id"] = raw_id.str.slice(0, 200)
    if personal.any():
        df.loc[personal, "id"] = [
            "h:" + hashlib.sha256(v.encode()).hexdigest()[:16] for v in raw_id[personal]
        ]
    mark("scrub")

    keep = ~df["id"].duplicated().to_numpy()
    df = df[keep].reset_index(drop=True)
    lon6, lat6 = lon6[keep], lat6[keep]
    # Near-duplicate groups (koban_geo.privacy.grouping's rule): same theme and snapped place, within `days` of the
    # group's first report; sorted, then one pass, as an analyst would write it.
    window = group_days * 86400.0
    t = df["reported_at"].to_numpy().astype("datetime64[s]").astype("int64").astype(float)
    ids = df["id"].to_numpy(dtype=object)
    themes_ = df["theme"].to_numpy(dtype=object)
    order = np.lexsort((ids.astype(str), t, lat6, lon6, themes_.astype(str)))
    group = np.empty(len(df), dtype=object)
    key: tuple[Any, ...] | None = None
    anchor_t, anchor = 0.0, ""
    for i in order:
        here = (themes_[i], lon6[i], lat6[i])
        if here != key or t[i] - anchor_t > window:
            key, anchor_t, anchor = here, t[i], f"{SOURCE}/{ids[i]}"
        group[i] = anchor
    mark("group")
    table = pa.table({
        "id": pa.array(ids, pa.string()),
        "reported_at": pa.array(df["reported_at"].to_numpy()),
        "theme": pa.array(themes_, pa.string()),
        "theme_source": pa.array(df["theme_source"].to_numpy(dtype=object), pa.string()),
        "description": pa.array(df["description"].to_numpy(dtype=object), pa.string(), from_pandas=True),
        "geom": pa.array(shapely.to_wkb(shapely.points(lon6, lat6)), pa.binary()),
        "snap_m": pa.array(df["snap_m"].to_numpy(), pa.int32()),
        "area_code": pa.array(df["area_code"].to_numpy(dtype=object), pa.string(), from_pandas=True),
        "group_id": pa.array(group, pa.string()),
    })  # fmt: skip
    mark("to_arrow")
    con.register("_baseline", table)
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "INSERT INTO concerns (source, id, reported_at, theme, theme_source, theme_confidence, description, "
        "geom, snap_m, area_code, batch_id, group_id) SELECT $source, id, reported_at, theme, theme_source, "
        "NULL, description, ST_GeomFromWKB(geom), snap_m, area_code, 1, group_id FROM _baseline",
        {"source": SOURCE},
    )
    con.execute("COMMIT")
    mark("insert+commit")
    seconds = time.perf_counter() - started
    con.unregister("_baseline")
    stored = con.execute("SELECT count(*) FROM concerns WHERE source = ?", [SOURCE]).fetchone()
    con.close()
    return {"seconds": seconds, "stored": int(stored[0]) if stored else 0, "read": int(len(ok)),
            "stages": stages, "text_dtype": str(df["kuvaus"].dtype)}  # fmt: skip


# The KOBAN path taken apart (`--profile`): the stages of ingest_concerns and sql/queries/concerns_prepare.sql,
# each run on its own and materialised, with the same macros and parameters, so their costs can be told
# apart. The real query overlaps its stages on both cores, so the parts add up to more than it takes.
_INSERT = (
    " (source, id, reported_at, theme, theme_source, theme_confidence, description, geom, snap_m, area_code,"
    " batch_id) SELECT $source, r.id, r.reported_at, r.theme, 'mapped', NULL, r.description,"
    " CASE WHEN t.sensitive THEN r.geom_coarse ELSE r.geom_fine END, 100, r.area_code, $batch"
    " FROM _p_rows AS r JOIN themes AS t ON t.code = r.theme"
)
PROFILE_SQL = (
    ("read_csv: the staged view into a table",
     "CREATE OR REPLACE TEMP TABLE _p_staged AS SELECT * FROM _staged"),
    ("parse numbers, times (koban_ts_as: the detected form first), labels",
     "CREATE OR REPLACE TEMP TABLE _p_parsed AS SELECT line, koban_num(lat_raw, $dc) AS lat, "
     "koban_num(lon_raw, $dc) AS lon, date_trunc('hour', koban_ts_as(reported_at_raw, $ts_format, $tz)) "
     "AS reported_at, nullif(lower(regexp_replace(trim(theme_raw), '\\s+', ' ', 'g')), '') AS theme_label "
     "FROM _p_staged"),
    ("for reference: koban_ts trying its every form on every value",
     "CREATE OR REPLACE TEMP TABLE _p_ts AS SELECT line, date_trunc('hour', koban_ts(reported_at_raw, $tz)) "
     "AS reported_at FROM _p_staged"),
    ("ST_Point + ST_Transform to metric",
     "CREATE OR REPLACE TEMP TABLE _p_metric AS SELECT line, ST_Point(lon, lat) AS pt, "
     "ST_Transform(ST_Point(lon, lat), 'EPSG:4326', $crs, always_xy := true) AS m FROM _p_parsed"),
    ("snap 100 m and 500 m: 2 ST_Transform back, round",
     "CREATE OR REPLACE TEMP TABLE _p_snap AS SELECT line, "
     "koban_round6(koban_snap(m, $fine, $crs)) AS geom_fine, "
     "koban_round6(koban_snap(m, $coarse, $crs)) AS geom_coarse FROM _p_metric"),
    ("spatial LEFT JOIN to areas + QUALIFY (as in prepare)",
     "CREATE OR REPLACE TEMP TABLE _p_area AS SELECT p.line, a.code FROM _p_metric AS p "
     "LEFT JOIN areas AS a ON ST_Intersects(a.geom, p.pt) "
     "QUALIFY row_number() OVER (PARTITION BY p.line ORDER BY a.code) = 1"),
    ("alternative: inner spatial join + min(code) by line",
     "CREATE OR REPLACE TEMP TABLE _p_area2 AS SELECT p.line, min(a.code) AS code FROM _p_metric AS p "
     "JOIN areas AS a ON ST_Intersects(a.geom, p.pt) GROUP BY p.line"),
    ("assemble rows (hash joins on line)",
     "CREATE OR REPLACE TEMP TABLE _p_rows AS SELECT p.line, s.src_id AS id, p.reported_at, "
     "coalesce(m.theme, 'other') AS theme, s.text_raw AS description, n.geom_fine, n.geom_coarse, "
     "a.code AS area_code FROM _p_parsed AS p JOIN _p_staged AS s USING (line) "
     "JOIN _p_snap AS n USING (line) LEFT JOIN _p_area AS a USING (line) "
     "LEFT JOIN theme_mapping AS m ON m.label = p.theme_label"),
    ("INSERT + COMMIT into a table without PK or R-tree",
     "CREATE TABLE _p_plain AS SELECT * FROM concerns LIMIT 0; INSERT INTO _p_plain" + _INSERT),
    ("INSERT + COMMIT into a table with the PK and R-tree of concerns",
     "CREATE TABLE _p_indexed AS SELECT * FROM concerns LIMIT 0; "
     "ALTER TABLE _p_indexed ADD PRIMARY KEY (source, id); "
     "CREATE INDEX _p_indexed_geom ON _p_indexed USING RTREE (geom); INSERT INTO _p_indexed" + _INSERT),
)  # fmt: skip


def _instrument(steps: dict[str, float]) -> None:
    """Time the real pipeline's named queries, scrubbing, grouping and commit (patches this process only)."""
    from contextlib import contextmanager

    import koban_geo.ingest.concerns as concerns
    import koban_geo.privacy.grouping
    import koban_geo.store.sql

    def add(name: str, started: float) -> None:
        steps[name] = round(steps.get(name, 0.0) + time.perf_counter() - started, 3)

    def timed_call(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                add(name, started)

        return wrapper

    def timed_query(con: Any, name: str, params: Any = None) -> Any:
        started = time.perf_counter()
        try:
            return koban_geo.store.sql.query(con, name, params)
        finally:
            add(f"query {name}", started)

    @contextmanager
    def timed_transaction(con: Any) -> Any:
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        started = time.perf_counter()
        con.execute("COMMIT")
        add("COMMIT", started)

    for module in (concerns, koban_geo.privacy.grouping):
        if hasattr(module, "query"):
            module.query = timed_query  # type: ignore[attr-defined]
    for name in ("sniff", "stage_csv", "_scrub_staged", "_timestamp_format", "_choose_crs", "_row_errors",
                 "_classify_unresolved", "new_groups"):  # fmt: skip
        if callable(getattr(concerns, name, None)):
            setattr(concerns, name, timed_call(name, getattr(concerns, name)))
    if hasattr(concerns, "transaction"):
        concerns.transaction = timed_transaction


def run_profile(csv_path: Path, areas: Path, db: Path) -> dict[str, Any]:
    """Where the KOBAN path spends its time: the real ingest with its steps timed in place, then the prepare
    query taken apart (PROFILE_SQL). Only public entry points are required; internals are timed if present."""
    import re

    from koban_geo.ingest import ingest_file
    from koban_geo.ingest.readers import sniff, stage_csv
    from koban_geo.privacy.scrub import scrub_texts
    from koban_geo.store.db import connect
    from koban_geo.store.settings import Settings

    _fresh(db)
    settings = Settings(db=db)
    con = connect(db)
    ingest_file(con, settings, areas, kind="areas")
    real: dict[str, float] = {}
    _instrument(real)
    started = time.perf_counter()
    result = ingest_file(con, settings, csv_path, kind="concerns", source=SOURCE)
    real["total"] = round(time.perf_counter() - started, 3)

    parts: dict[str, float] = {}

    def timed(name: str, work: Any) -> Any:
        started = time.perf_counter()
        out = work()
        parts[name] = round(parts.get(name, 0.0) + time.perf_counter() - started, 3)
        return out

    dialect = sniff(csv_path, csv_path.name)
    staged = stage_csv(con, csv_path.name, dialect, None, csv_path)
    ts_format = result.parameters.get("timestamp_format")
    params = {"dc": staged.decimal_comma, "tz": settings.timezone, "crs": METRIC_CRS, "fine": settings.grid_m,
              "coarse": settings.sensitive_grid_m, "source": "p", "batch": 0, "ts_format": ts_format}  # fmt: skip
    found = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'koban_ts_as'"
    ).fetchone()
    has_ts_as = bool(found and found[0])
    for name, statement in PROFILE_SQL:
        if not has_ts_as:  # an older pipeline: every form tried on every value
            statement = statement.replace(
                "koban_ts_as(reported_at_raw, $ts_format, $tz)", "koban_ts(reported_at_raw, $tz)"
            )
        for part in statement.split("; "):
            wanted = {k: params[k] for k in set(re.findall(r"\$([a-z_]+)", part))}
            timed(name, lambda part=part, wanted=wanted: con.execute(part, wanted))
    texts = con.execute("SELECT text_raw FROM _p_staged").to_arrow_table().column(0)
    timed("scrub_texts on the whole text column at once", lambda: scrub_texts(texts))
    con.close()
    return {"seconds": real["total"], "steps": real, "parts": parts, "stored": result.accepted}


def child(args: argparse.Namespace) -> None:
    csv_path, areas, db = Path(args.csv), Path(args.areas), Path(args.db)
    if args.child == "koban":
        result = run_koban(csv_path, areas, db)
    elif args.child == "koban-profile":
        result = run_profile(csv_path, areas, db)
    else:
        result = run_baseline(csv_path, areas, db, arrow_strings=args.child == "baseline-arrow")
    result["contender"] = args.child
    _common.emit(result)


# ----------------------------------------------------------------------------------------------------------
# Comparing the two stores
# ----------------------------------------------------------------------------------------------------------

COMPARED = (
    "reported_at",
    "theme",
    "theme_source",
    "description",
    "snap_m",
    "area_code",
    "group_id",
    "needs_review",
)


def compare(koban_db: Path, other_db: Path) -> dict[str, Any]:
    """Row counts, and per column the number of ids whose stored values differ (with up to 3 example ids)."""
    import duckdb

    from koban_geo.store.db import load_spatial

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    load_spatial(con)
    for alias, db in (("k", koban_db), ("o", other_db)):  # ATTACH takes no parameters: quote our own paths
        con.execute(f"ATTACH '{str(db).replace(chr(39), chr(39) * 2)}' AS {alias} (READ_ONLY)")
    counts = con.execute(
        "SELECT (SELECT count(*) FROM k.concerns), (SELECT count(*) FROM o.concerns)"
    ).fetchone()
    assert counts is not None
    checks = {c: f"k.{c} IS DISTINCT FROM o.{c}" for c in COMPARED}
    checks["geom"] = (
        "ST_X(k.geom) IS DISTINCT FROM ST_X(o.geom) OR ST_Y(k.geom) IS DISTINCT FROM ST_Y(o.geom)"
    )
    checks["missing"] = "k.id IS NULL OR o.id IS NULL"
    diffs: dict[str, Any] = {}
    for name, condition in checks.items():
        rows = con.execute(
            f"SELECT count(*) OVER (), coalesce(k.id, o.id) FROM k.concerns AS k FULL JOIN o.concerns AS o "
            f"ON k.id = o.id WHERE {condition} ORDER BY 2 LIMIT 3"  # conditions are our own constants
        ).fetchall()
        if rows:
            diffs[name] = {"rows": rows[0][0], "examples": [r[1] for r in rows]}
    con.close()
    return {"koban_rows": counts[0], "other_rows": counts[1], "differences": diffs}


# ----------------------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summarise(runs: list[dict[str, Any]], contenders: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Median seconds and highest peak RSS per contender (contenders without a finished run are left out)."""
    out = {}
    for name in contenders:
        mine = [r for r in runs if r["contender"] == name]
        if mine:
            out[name] = {
                "seconds": _median([r["seconds"] for r in mine]),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in mine),
                "stored": mine[0]["stored"],
            }
    return out


def table(rows: int, runs: list[dict[str, Any]], contenders: tuple[str, ...]) -> list[str]:
    summary = summarise(runs, contenders)
    koban = summary["koban"]["seconds"] if "koban" in summary else float("nan")
    lines = ["| contender | seconds | rows/s | peak RSS (MB) | time vs koban |", "|---|---:|---:|---:|---:|"]
    for name in contenders:
        if name not in summary:
            lines.append(f"| {name} | no finished run | | | |")
            continue
        s = summary[name]
        each = [r["seconds"] for r in runs if r["contender"] == name]
        shown = f"{s['seconds']:.1f}" + (f" ({', '.join(f'{v:.1f}' for v in each)})" if len(each) > 1 else "")
        lines.append(f"| {name} | {shown} | {rows / s['seconds']:,.0f} | {s['peak_rss_mb']:,.0f} | "
                     f"{s['seconds'] / koban:.2f}x |")  # fmt: skip
    return lines


def verdict(rows: int, summary: dict[str, dict[str, float]]) -> str:
    if "koban" not in summary or "baseline" not in summary:
        return f"{rows:,} rows: no verdict, a contender has no finished run."
    koban = summary["koban"]
    speed = summary["baseline"]["seconds"] / koban["seconds"]
    fast = "met" if speed >= 3 else "NOT met"
    small = "met" if koban["peak_rss_mb"] < 2048 else "NOT met"
    arrow = ""
    if "baseline-arrow" in summary:
        ratio = summary["baseline-arrow"]["seconds"] / koban["seconds"]
        arrow = f" Against pandas 3's default strings (`baseline-arrow`): {ratio:.2f}x."
    return (f"{rows:,} rows: KOBAN is {speed:.2f}x faster than the baseline (target >= 3x: **{fast}**); "
            f"peak RSS {koban['peak_rss_mb']:,.0f} MB (target < 2 GB: **{small}**).{arrow}")  # fmt: skip


def failure_lines(failures: list[dict[str, Any]]) -> list[str]:
    """Crashed or failed child processes, each with the project frames it died in."""
    lines = []
    for f in failures:
        frames = [
            line.strip() for line in _where(f["detail"]).splitlines() if line.strip().startswith("File")
        ]
        where = f": {'; '.join(frames[:2])}" if frames else ""
        lines.append(f"- **{f['contender']} failed** ({f['error']}, attempt {f['attempt']}){where}")
    return lines


def stage_lines(runs: list[dict[str, Any]], contenders: tuple[str, ...]) -> list[str]:
    lines = []
    for name in contenders:
        mine = [r for r in runs if r["contender"] == name]
        stages = (mine[0].get("stages") or {}) if mine else {}
        if stages:
            parts = ", ".join(f"{k} {_median([r['stages'][k] for r in mine]):.2f}" for k in stages)
            lines.append(f"- {name}: {parts}")
    return lines


def comparison_lines(result: dict[str, Any]) -> list[str]:
    if result["koban_rows"] == result["other_rows"] and not result["differences"]:
        return [f"identical: {result['koban_rows']:,} rows, every compared column equal"]
    parts = [f"{result['koban_rows']:,} vs {result['other_rows']:,} rows"]
    for column, diff in result["differences"].items():
        parts.append(f"{column} differs in {diff['rows']:,} rows (e.g. {', '.join(diff['examples'])})")
    return ["**differ**: " + "; ".join(parts)]


def profile_lines(profile: dict[str, Any]) -> list[str]:
    """The `--profile` tables: the real ingest with its steps timed, then the prepare query taken apart."""
    lines = ["Where KOBAN's time goes (`--profile`, one more run in its own process). The real ingest with its",
             "steps timed in place; a function's time includes the queries it runs, and what is not listed",
             "makes up the rest of the total:", "",
             "| step of `ingest_file` | seconds |", "|---|---:|"]  # fmt: skip
    lines += [f"| {step} | {seconds:.2f} |" for step, seconds in profile["steps"].items()]
    total = profile["steps"].get("total") or 1.0
    top = sorted(
        ((v, k) for k, v in profile["steps"].items() if k not in ("total", "assign_groups")), reverse=True
    )
    lines += ["", "Largest: " + ", ".join(f"{k} {v / total:.0%}" for v, k in top[:3]) + " of the total."]
    lines += ["", "The prepare query taken apart, each stage on its own and materialised (they overlap on both",
              "cores in the real query), and alternatives:", "", "| stage | seconds |", "|---|---:|"]  # fmt: skip
    lines += [f"| {step} | {seconds:.2f} |" for step, seconds in profile["parts"].items()]
    return [*lines, ""]


def history_lines(report: dict[str, Any], keep: int = 4) -> list[str]:
    """Medians of this report and the earlier ones kept in bench/out/ingest-reports/, to show how stable they are."""
    folder = Path(report.get("out", HERE / "out")) / "ingest-reports"
    earlier = sorted(folder.glob("*.json"))[-keep:] if folder.is_dir() else []
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in earlier]
    if len(reports) < 2:
        return []
    lines = ["### Runs on this machine", "",
             "Medians of each invocation kept in `bench/out/ingest-reports/` (older ones may predate changes to the code):",
             "", "| when | rows | koban s | baseline s | baseline-arrow s | baseline / koban | koban peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in reports:
        for size in r["sizes"]:
            s = summarise(size["runs"], tuple(r["contenders"]))
            k, b, a = (s.get(n, {}).get("seconds") for n in ("koban", "baseline", "baseline-arrow"))
            cells = [f"{v:.1f}" if v else "-" for v in (k, b, a)]
            ratio = f"{b / k:.2f}x" if k and b else "-"
            rss = f"{s['koban']['peak_rss_mb']:,.0f}" if "koban" in s else "-"
            lines.append(f"| {r['when']} | {size['rows']:,} | {' | '.join(cells)} | {ratio} | {rss} |")
    return [*lines, ""]


README_HEAD = """\
# Benchmarks

Run by hand (`make bench`), never by the test suite: no test asserts a wall-clock time.

"""
README_TAIL = """
## Classifier

See [results/classifier.md](results/classifier.md).
"""
BEGIN, END = "<!-- bench/ingest.py writes from here -->", "<!-- bench/ingest.py writes up to here -->"
README_INTRO = """\
## Ingest: concerns CSV into the store, anonymised

Written by `bench/ingest.py` between its two markers (the rest of this file is left alone): edit the
script, not the figures.

```
python bench/ingest.py                     # 100k and 1M rows, all contenders, 2 runs each, profile; ~10 min
python bench/ingest.py --rows 100000 --runs 1 --no-profile --no-readme
python bench/ingest.py --render             # this section again from bench/out/ingest-last.json
```

**Data** (generated with a fixed seed, cached in `bench/out/`, which git ignores): a Finnish municipal
export, `tunnus;ilmoitettu;leveysaste;pituusaste;aihe;kuvaus`, semicolon-delimited, UTF-8, decimal
commas, day-first times (`03.11.2024 22:15`) over 18 months, Finnish theme labels (the taxonomy's: `koban_geo/locales`,
`data/themes.csv`), points over a 14 x 14 km box of central Helsinki (75% around 40 hot spots), short
descriptions in Finnish, Swedish, English, Russian and Estonian built from fragments.
Share of rows: {data}.
{size}. Areas: {areas} polygons tiling the box (jittered corners, shared wavy borders of 30 vertices);
about 4% of the points lie just outside them (no area).
Every row carries a valid theme label, so the classifier (`koban_geo.ingest.classify`) is **not** in the
measured path.

**Measured**: wall time of the work only, each contender in a fresh process; peak RSS is that process's
own high-water mark (VmHWM: imports and set-up included). Generating the data is not timed.

- `koban`: a fresh store with the areas already ingested (untimed), then
  `ingest_file(con, settings, csv, kind="concerns")` end to end: SHA-256 and re-ingest check, dialect
  sniffing, DuckDB `read_csv`, the number and date macros, `koban_geo.privacy.scrub` on texts and ids, snapping in
  EPSG:32635 (100 m; 500 m for sensitive themes), spatial join to the areas, themes, duplicate checks,
  insert, near-duplicate groups, commit.
- `baseline`: the same work the usual way: `pd.read_csv(sep=";", decimal=",")`,
  `pd.to_datetime(format=..., dayfirst=True)` floored to the hour, `gpd.points_from_xy` +
  `to_crs(32635)`, numpy snapping, `to_crs(4326)`, `gpd.sjoin(predicate="intersects")`, a dict for the
  theme labels, every rule of `koban_geo.privacy.scrub.RULES` (same patterns, same order) through
  `Series.str.replace(regex=True)` over texts and ids, with a Python callable where a rule validates
  check digits, then the groups in one sorted pass. Text columns are Python objects, so this is Python's
  `re` (as with pandas 2, or pandas 3 with `future.infer_string=False`). The rows go through Arrow (WKB
  geometry) into the same `concerns` table (same primary key and R-tree) in one transaction.
- `baseline-arrow`: the same code on pandas 3's default `str` dtype, where `str.replace(regex=True)`
  quietly hands the patterns RE2 can run to pyarrow; Python's `re` keeps the rest and the callables.

Stages of `koban` as `ingest_file` reports them: `hash` (SHA-256, re-ingest check), `read+scrub` (dialect,
CSV view, scrubbing of texts and ids), `prepare` (the `concerns_prepare` query: parsing, checks, snapping,
areas), `classify+resolve` (themes, duplicates), `insert+groups+commit`.

Afterwards the two stores are compared row by row: id, time, theme, description, snapped point, grid,
area, group.

**Machine**: {cpu}, {cores} cores, {ram} GB RAM, {os}.
**Software**: Python {python}, duckdb {duckdb} (spatial {spatial}), pandas {pandas}, geopandas {geopandas},
shapely {shapely}, pyproj {pyproj}, pyarrow {pyarrow}, numpy {numpy}.
**When**: {when}, while other jobs shared the machine (1-minute load average before each run: {loads}).

### Results
"""


def write_readme(path: Path, report: dict[str, Any]) -> None:
    m, pk = report["machine"], report["machine"]["packages"]
    contenders = tuple(report["contenders"])
    data = ", ".join(f"{k.replace('_', ' ')} {v:.1%}" for k, v in report["data"].items())
    intro = README_INTRO.format(
        data=data, size=report["data_size"], areas=GRID[0] * GRID[1], cpu=m["cpu"], cores=m["cores"],
        ram=m["ram_gb"], os=m["os"], python=m["python"], duckdb=pk["duckdb"],
        spatial=pk["duckdb-extension-spatial"], pandas=pk["pandas"], geopandas=pk["geopandas"],
        shapely=pk["shapely"], pyproj=pk["pyproj"], pyarrow=pk["pyarrow"], numpy=pk["numpy"],
        when=report["when"], loads=", ".join(str(v) for v in report["loads"]),
    )  # fmt: skip
    lines = [intro]
    for size in report["sizes"]:
        rows = size["rows"]
        runs = f" (median of {report['runs']} runs; each run in brackets)" if report["runs"] > 1 else ""
        lines += [f"**{rows:,} rows**{runs}", ""]
        lines += table(rows, size["runs"], contenders)
        lines += ["", verdict(rows, summarise(size["runs"], contenders)), ""]
        if size.get("failures"):
            lines += [*failure_lines(size["failures"]), ""]
        lines += ["Seconds by stage:", *stage_lines(size["runs"], contenders)]
        peaks = next((r["peak_rss_mb_by_stage"] for r in size["runs"] if "peak_rss_mb_by_stage" in r), None)
        if peaks:
            lines += [
                "- koban peak RSS (MB) by stage: " + ", ".join(f"{k} {v:,.0f}" for k, v in peaks.items())
            ]
        lines += [""]
        lines += [f"- koban vs {name}: {comparison_lines(diff)[0]}" for name, diff in size["compare"].items()]
        lines += [""]
        if size.get("profile"):
            lines += profile_lines(size["profile"])
    lines += history_lines(report)
    section = "\n".join([BEGIN, *lines, END])
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:  # replace only our section: other benchmarks write theirs here too
        before, rest = text.split(BEGIN, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = README_HEAD + section + "\n" + README_TAIL
    path.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------


def _run(name: str, args: list[str], attempts: int, failures: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One run of a contender in a child process; a crash is recorded (with its traceback) and retried."""
    for attempt in range(1, attempts + 1):
        try:
            return _common.run_child(Path(__file__), args)
        except _common.ChildFailed as exc:
            failures.append({"contender": name, "attempt": attempt, "error": str(exc).split(" failed ")[-1],
                             "detail": exc.detail})  # fmt: skip
            print(f"  FAILED {name} (attempt {attempt}): {exc}\n{_where(exc.detail)}", flush=True)
    return None


def _where(detail: str) -> str:
    """The Python frames of a crash report that are in this project (where in the pipeline it died)."""
    frames = [line.strip() for line in detail.splitlines() if "/koban_geo/" in line or "/bench/" in line]
    return "\n".join(f"    {line}" for line in frames[:8]) or detail[-800:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--rows", default="100000,1000000", help="row counts, comma-separated")
    parser.add_argument("--out", default=str(HERE / "out"), help="where inputs are cached and stores written")
    parser.add_argument("--runs", type=int, default=2, help="runs per contender and size (interleaved)")
    parser.add_argument("--contenders", default=",".join(DEFAULT_CONTENDERS), help=", ".join(CONTENDERS))
    parser.add_argument("--readme", default=str(HERE / "README.md"), help="report written here")
    parser.add_argument("--no-readme", action="store_true", help="print only")
    parser.add_argument("--render", action="store_true", help="only rewrite the README from the last report")
    parser.add_argument("--attempts", type=int, default=3, help="tries per run when a child crashes")
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also take the KOBAN path apart, stage by stage (one more run)",
    )
    parser.add_argument("--child", choices=(*CONTENDERS, "koban-profile"), help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--areas", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    if args.render:
        report_path = Path(args.out) / "ingest-last.json"
        write_readme(Path(args.readme), json.loads(report_path.read_text(encoding="utf-8")))
        print(f"wrote {args.readme} from {report_path}")
        return 0
    contenders = tuple(c.strip() for c in args.contenders.split(",") if c.strip())
    unknown = [c for c in contenders if c not in CONTENDERS]
    if unknown or "koban" not in contenders:
        parser.error(f"contenders must include koban and come from {', '.join(CONTENDERS)}")
    out = Path(args.out)
    report: dict[str, Any] = {
        "machine": _common.machine(PACKAGES), "contenders": contenders, "runs": args.runs, "sizes": [],
        "when": datetime.now().strftime("%Y-%m-%d %H:%M"), "out": str(out), "loads": [], "data": {},
        "data_size": "",
    }  # fmt: skip
    for rows in (int(r) for r in args.rows.split(",")):
        print(f"{rows:,} rows", flush=True)
        csv_path, areas, data = inputs(out, rows)
        report["data"] = {k: v for k, v in data.items() if k != "bytes"}
        report["data_size"] = f"The CSV of {rows:,} rows is {data['bytes'] / 1e6:.0f} MB"
        runs: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        child_args = ["--csv", str(csv_path), "--areas", str(areas)]
        for n in range(args.runs):
            for name in contenders:
                db = out / f"{name}-{rows}.duckdb"
                load = _common.load_average()
                report["loads"].append(load)
                result = _run(name, [*child_args, "--child", name, "--db", str(db)], args.attempts, failures)
                if result is None:
                    continue
                result["load"] = load
                runs.append(result)
                speed = rows / result["seconds"]
                print(f"  run {n + 1} {name:15s} {result['seconds']:7.1f} s {speed:10,.0f} rows/s"
                      f"  {result['peak_rss_mb']:7,.0f} MB  stored {result['stored']:,}  (load {load})"
                      f"  {result.get('stages')}", flush=True)  # fmt: skip
        comparisons = {}
        finished = {r["contender"] for r in runs}
        for name in contenders:
            if name != "koban" and {"koban", name} <= finished:
                comparisons[name] = compare(out / f"koban-{rows}.duckdb", out / f"{name}-{rows}.duckdb")
                for line in comparison_lines(comparisons[name]):
                    if not line.startswith("identical"):
                        print(f"  WARNING koban vs {name}: {line}", flush=True)
                    else:
                        print(f"  koban vs {name}: {line}", flush=True)
        profile = None
        if args.profile:
            db = out / f"profile-{rows}.duckdb"
            profile = _run("koban-profile", [*child_args, "--child", "koban-profile", "--db", str(db)],
                           args.attempts, failures)  # fmt: skip
            for step, seconds in [*profile["steps"].items(), *profile["parts"].items()] if profile else []:
                print(f"  profile {seconds:7.2f} s  {step}", flush=True)
        report["sizes"].append(
            {"rows": rows, "runs": runs, "compare": comparisons, "profile": profile, "failures": failures}
        )
        print("  " + verdict(rows, summarise(runs, contenders)).replace("**", ""), flush=True)
    saved = json.dumps(report, indent=1, default=str)
    (out / "ingest-last.json").write_text(saved, encoding="utf-8")
    (out / "ingest-reports").mkdir(exist_ok=True)
    (out / "ingest-reports" / f"{report['when'].replace(' ', 'T').replace(':', '')}.json").write_text(
        saved, encoding="utf-8"
    )
    if not args.no_readme:
        write_readme(Path(args.readme), report)
        print(f"wrote {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
