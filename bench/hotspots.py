"""Hotspot speed benchmark: Gi*, KDE, DBSCAN clusters and emerging hotspots on 1,000,000 concerns, against the
usual analyst pipeline (geopandas + libpysal + esda + scikit-learn) on the same store, in one run.

    python bench/hotspots.py                       # 1,000,000 concerns; writes bench/results/hotspots.md
    python bench/hotspots.py --rows 100000 --reps 3 --no-write

Targets (from the issue): Gi* on a 100 m grid for one filter < 1 s; the full set (Gi* + KDE + clusters +
emerging over 18 monthly slices) < 10 s; a filter change from cached cells < 0.2 s; >= 10x faster than the
baseline with identical Gi* z-scores. The store is generated once (a CSV through `ingest_file`, the real path)
and cached in --out (gitignored). Each contender runs in its own fresh process (bench/_common.run_child);
KOBAN figures are medians of --reps repetitions. Not a test: nothing here asserts a wall-clock time.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import _common

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATOR = "v2"  # bump when the generated data changes, so the cached store is rebuilt
SEED = 20250301
BOX = (24.80, 60.13, 25.05, 60.26)  # lon/lat box around central Helsinki, about 13.8 x 14.5 km
AREA_GRID = (8, 6)  # area columns x rows: 48 areas tiling the box
START = date(2024, 1, 1)
MONTHS = 18
N_CLUSTERS = 300
BACKGROUND = 0.15  # share of concerns spread evenly in space and time
CELL_M = 100
EPS_M = 105.0  # koban_geo.analysis.hotspots defaults: eps just over the snapping grid, min 10 reports
SOURCE = "bench-hotspots"
PACKAGES = (
    "duckdb",
    "duckdb-extension-spatial",
    "numpy",
    "scipy",
    "pandas",
    "geopandas",
    "shapely",
    "pyproj",
    "libpysal",
    "esda",
    "scikit-learn",
)
TARGETS = {"gistar": 1.0, "full": 10.0, "filter_change": 0.2, "ratio": 10.0}

# Non-sensitive theme codes of data/themes.csv with their share of reports.
THEME_WEIGHTS = {
    "noise": 0.20,
    "litter": 0.15,
    "parking": 0.13,
    "traffic": 0.10,
    "asb": 0.09,
    "vandalism": 0.08,
    "lighting": 0.06,
    "theft": 0.06,
    "drugs": 0.04,
    "burglary": 0.03,
    "violence": 0.03,
    "other": 0.03,
}

_KM_PER_DEG_LAT = 111.2
_KM_PER_DEG_LON = 111.32 * math.cos(math.radians((BOX[1] + BOX[3]) / 2))
WIDTH_KM = (BOX[2] - BOX[0]) * _KM_PER_DEG_LON
HEIGHT_KM = (BOX[3] - BOX[1]) * _KM_PER_DEG_LAT


def _filters() -> list[tuple[str, Any]]:
    """The filters measured, by name: the main one first, then the filter changes."""
    from koban_geo.analysis.grid import Filter

    return [
        ("noise", Filter(themes=("noise",))),
        ("litter", Filter(themes=("litter",))),
        (
            "noise, Jan-Mar 2025",
            Filter(themes=("noise",), since=datetime(2025, 1, 1), until=datetime(2025, 4, 1)),
        ),
        ("noise + asb + drugs", Filter(themes=("noise", "asb", "drugs"))),
        ("noise, 12 areas", Filter(themes=("noise",), areas=tuple(f"HKI-{n:02d}" for n in range(1, 13)))),
        ("every theme", Filter(themes=tuple(THEME_WEIGHTS))),
    ]


# ----------------------------------------------------------------------------------------------------------
# Generated store
# ----------------------------------------------------------------------------------------------------------


def _to_lonlat(x_km: Any, y_km: Any) -> tuple[Any, Any]:
    return BOX[0] + x_km / _KM_PER_DEG_LON, BOX[1] + y_km / _KM_PER_DEG_LAT


def write_areas(path: Path, seed: int = SEED) -> int:
    """The box cut into AREA_GRID quadrilaterals with jittered shared corners (they tile the box exactly)."""
    import numpy as np

    rng = np.random.default_rng([seed, 1])
    cols, rows = AREA_GRID
    cw, ch = WIDTH_KM / cols, HEIGHT_KM / rows
    nodes = {}
    for i in range(cols + 1):
        for j in range(rows + 1):
            dx = 0.0 if i in (0, cols) else rng.uniform(-0.25, 0.25) * cw
            dy = 0.0 if j in (0, rows) else rng.uniform(-0.25, 0.25) * ch
            nodes[i, j] = (i * cw + dx, j * ch + dy)
    features = []
    for j in range(rows):
        for i in range(cols):
            corners = [nodes[c] for c in ((i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j))]
            lon, lat = _to_lonlat(np.array([c[0] for c in corners]), np.array([c[1] for c in corners]))
            ring = [[round(float(x), 7), round(float(y), 7)] for x, y in zip(lon, lat, strict=True)]
            n = j * cols + i + 1
            features.append(
                {
                    "type": "Feature",
                    "properties": {"code": f"HKI-{n:02d}", "name": f"Alue {n}"},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return len(features)


def write_concerns(path: Path, rows: int, seed: int = SEED) -> dict[str, Any]:
    """A deterministic concerns CSV (id, reported_at, lat, lon, theme) with realistic clustering.

    BACKGROUND of the concerns are spread evenly over the box and the 18 months; the rest come from
    N_CLUSTERS Gaussian clusters (sd 40-1200 m, log-normal around 250 m; sizes from a gamma law), each alive
    for part of the period (30 % for all of it) and growing, fading or steady while alive, with one dominant
    theme (70 % of its reports).
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([seed, rows])
    codes = list(THEME_WEIGHTS)
    tw = np.array([THEME_WEIGHTS[c] for c in codes])
    tw = tw / tw.sum()
    k = N_CLUSTERS
    centre = rng.uniform(
        [0.03 * WIDTH_KM, 0.03 * HEIGHT_KM], [0.97 * WIDTH_KM, 0.97 * HEIGHT_KM], size=(k, 2)
    )
    sd_km = np.clip(np.exp(rng.normal(math.log(0.25), 0.6, size=k)), 0.04, 1.2)
    size = rng.gamma(0.8, size=k)
    persistent = rng.random(k) < 0.3
    first = np.where(persistent, 0, rng.integers(0, MONTHS - 1, size=k))
    length = np.where(persistent, MONTHS, 0)
    length = np.where(persistent, length, 2 + (rng.random(k) * (MONTHS - first - 1)).astype(int))
    length = np.minimum(length, MONTHS - first)
    shape = rng.choice(3, size=k, p=[0.4, 0.3, 0.3])  # steady, growing, fading
    dominant = rng.choice(len(codes), size=k, p=tw)

    days_total = (
        date(START.year + (START.month - 1 + MONTHS) // 12, (START.month - 1 + MONTHS) % 12 + 1, 1) - START
    ).days
    month_start = np.array(
        [
            (date(START.year + (START.month - 1 + m) // 12, (START.month - 1 + m) % 12 + 1, 1) - START).days
            for m in range(MONTHS + 1)
        ]
    )

    in_cluster = rng.random(rows) >= BACKGROUND
    which = rng.choice(k, size=rows, p=size / size.sum())
    x = np.where(
        in_cluster,
        centre[which, 0] + rng.normal(size=rows) * sd_km[which],
        rng.uniform(0, WIDTH_KM, size=rows),
    )
    y = np.where(
        in_cluster,
        centre[which, 1] + rng.normal(size=rows) * sd_km[which],
        rng.uniform(0, HEIGHT_KM, size=rows),
    )
    # keep every report inside the box (reflect what falls off an edge back in)
    x = np.abs(x)
    x = np.where(x > WIDTH_KM, 2 * WIDTH_KM - x, x).clip(0.001, WIDTH_KM - 0.001)
    y = np.abs(y)
    y = np.where(y > HEIGHT_KM, 2 * HEIGHT_KM - y, y).clip(0.001, HEIGHT_KM - 0.001)

    # Days: background uniform with slowly growing use; a cluster's reports within its lifetime, by shape.
    u = rng.random(rows)
    u = np.where(shape[which] == 1, np.sqrt(u), np.where(shape[which] == 2, 1 - np.sqrt(1 - u), u))
    lo = month_start[first[which]]
    hi = month_start[first[which] + length[which]]
    cluster_day = lo + u * (hi - lo)
    background_day = days_total * (0.3 * np.sqrt(rng.random(rows)) + 0.7 * rng.random(rows))
    day = np.floor(np.where(in_cluster, cluster_day, background_day)).astype(np.int64).clip(0, days_total - 1)
    hour_w = np.array([5, 4, 3, 2, 1, 1, 2, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 7, 8, 9, 10, 10, 9, 7], dtype=float)
    minutes = rng.choice(24, size=rows, p=hour_w / hour_w.sum()) * 60 + rng.integers(0, 60, size=rows)
    stamp = np.datetime64(START.isoformat(), "m") + (day * 1440 + minutes).astype("timedelta64[m]")

    theme = np.where(
        in_cluster & (rng.random(rows) < 0.7), dominant[which], rng.choice(len(codes), size=rows, p=tw)
    )
    lon, lat = _to_lonlat(x, y)
    frame = pd.DataFrame(
        {
            "id": np.char.add("HS-", np.arange(1, rows + 1).astype(str)),
            "reported_at": pd.DatetimeIndex(stamp).strftime("%Y-%m-%d %H:%M"),
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "theme": np.array(codes)[theme],
        }
    )
    frame.to_csv(path, index=False)
    return {
        "rows": rows,
        "clusters": k,
        "background_share": BACKGROUND,
        "cluster_sd_m": [
            round(float(sd_km.min()) * 1000),
            round(float(np.median(sd_km)) * 1000),
            round(float(sd_km.max()) * 1000),
        ],
        "themes": {c: round(float((theme == i).mean()), 4) for i, c in enumerate(codes)},
        "csv_mb": round(path.stat().st_size / 1e6, 1),
    }


def ensure_store(out: Path, rows: int) -> tuple[Path, dict[str, Any]]:
    """The cached store of `rows` concerns (built on first use; a store without its record is rebuilt)."""
    store = out / f"hotspots-{rows}-{GENERATOR}.duckdb"
    record = out / f"hotspots-{rows}-{GENERATOR}.json"
    if store.exists() and record.exists():
        return store, json.loads(record.read_text(encoding="utf-8"))
    for stale in (store, Path(f"{store}.wal"), record):
        stale.unlink(missing_ok=True)
    from koban_geo.ingest import ingest_file
    from koban_geo.store.db import connect
    from koban_geo.store.settings import get_settings
    from koban_geo.store.sql import meta_get

    areas_path = out / f"hotspots-areas-{GENERATOR}.geojson"
    csv_path = out / f"hotspots-concerns-{rows}-{GENERATOR}.csv"
    print(f"building the store {store.name} (once) ...", flush=True)
    t = time.perf_counter()
    n_areas = write_areas(areas_path)
    info = write_concerns(csv_path, rows)
    generate_s = time.perf_counter() - t
    settings = get_settings(db=store)
    con = connect(store)
    t = time.perf_counter()
    ingest_file(con, settings, areas_path, kind="areas")
    result = ingest_file(con, settings, csv_path, kind="concerns", source=SOURCE)
    ingest_s = time.perf_counter() - t
    stored = con.execute(
        "SELECT count(*), count(DISTINCT geom), count(DISTINCT coalesce(group_id, source || '/' || id)), "
        "count(*) FILTER (WHERE area_code IS NULL), min(reported_at), max(reported_at) FROM concerns"
    ).fetchone()
    assert stored is not None
    info |= {
        "areas": n_areas,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "stored": int(stored[0]),
        "places": int(stored[1]),
        "groups": int(stored[2]),
        "outside_areas": int(stored[3]),
        "first": str(stored[4]),
        "last": str(stored[5]),
        "metric_crs": meta_get(con, "metric_crs"),
        "generate_s": round(generate_s, 1),
        "ingest_s": round(ingest_s, 1),
        "built": datetime.now().isoformat(timespec="minutes"),
    }
    con.execute("CHECKPOINT")
    con.close()
    csv_path.unlink()  # the store is what the benchmark reads; the CSV is rebuilt with it
    record.write_text(json.dumps(info, indent=1), encoding="utf-8")
    print(
        f"  generated in {generate_s:.1f} s, ingested in {ingest_s:.1f} s: {info['stored']:,} concerns",
        flush=True,
    )
    return store, info


# ----------------------------------------------------------------------------------------------------------
# Timing helpers
# ----------------------------------------------------------------------------------------------------------


class Clock:
    """Named laps of one repetition: `with clock("sql"): ...`; laps of the same name add up."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}

    def __call__(self, name: str) -> Clock._Lap:
        return Clock._Lap(self, name)

    class _Lap:
        def __init__(self, clock: Clock, name: str) -> None:
            self.clock, self.name = clock, name

        def __enter__(self) -> None:
            self.t = time.perf_counter()

        def __exit__(self, *exc: object) -> None:
            self.clock.laps[self.name] = self.clock.laps.get(self.name, 0.0) + time.perf_counter() - self.t


def repeat(reps: int, body: Callable[[Clock], Any]) -> dict[str, Any]:
    """Run body(clock) reps times: the median of each lap and every repetition's laps."""
    runs: list[dict[str, float]] = []
    for _ in range(reps):
        clock = Clock()
        body(clock)
        runs.append(clock.laps)
    names = list(dict.fromkeys(name for run in runs for name in run))
    return {
        "median": {n: statistics.median(run.get(n, 0.0) for run in runs) for n in names},
        "runs": [{n: round(run.get(n, 0.0), 4) for n in names} for run in runs],
    }


# ----------------------------------------------------------------------------------------------------------
# KOBAN (child process)
# ----------------------------------------------------------------------------------------------------------


def koban_child(store: Path, reps: int, npz: Path) -> dict[str, Any]:
    import numpy as np

    from koban_geo.analysis.clusters import auto_min_reports, dbscan_clusters
    from koban_geo.analysis.emerging import classify
    from koban_geo.analysis.gistar import clear_cache, gi_bins, gi_star, hotspot_cells, weights_queen, z_to_p
    from koban_geo.analysis.grid import bin_counts, bin_counts_by_slice, study_grid
    from koban_geo.analysis.hotspots import hotspots
    from koban_geo.analysis.kde import kde_for_store
    from koban_geo.store.db import connect
    from koban_geo.store.settings import get_settings
    from koban_geo.store.sql import meta_get, query

    con = connect(store, read_only=True)
    settings = get_settings(db=store)
    crs = meta_get(con, "metric_crs")
    filters = _filters()
    name0, flt = filters[0]

    def emerging(grid: Any, clock: Clock) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        with clock("  emerging, of which slice counts (SQL)"):
            counts, starts = bin_counts_by_slice(con, grid, flt, "month")
        with clock(f"  emerging, of which Gi* + FDR bins x {MONTHS}"):
            W = weights_queen(grid)
            z = np.column_stack([gi_star(counts[:, s], W) for s in range(counts.shape[1])])
            bins = np.column_stack([gi_bins(z[:, s], z_to_p(z[:, s]), fdr=True) for s in range(z.shape[1])])
        with clock("  emerging, of which classify"):
            keep = np.flatnonzero(counts.sum(axis=1) > 0)
            classify(z[keep], bins[keep], counts[keep], unit="month")
        return z, counts, starts

    # Warm-up (untimed): imports of sklearn and scipy.signal, pyproj transformers, DuckDB's buffer pool.
    grid = study_grid(con, CELL_M)
    hotspot_cells(con, grid, flt)
    kde_for_store(con, flt=flt)
    dbscan_clusters(con, EPS_M, flt=flt)
    emerging(grid, Clock())

    # DBSCAN runs with the library's default threshold (adapted to the density; computed inside each timed
    # call); the baseline is given the same value
    result: dict[str, Any] = {"filter": name0, "reps": reps, "min_reports": auto_min_reports(con, EPS_M, flt)}

    # 1. Gi* for one filter, cold: study grid and weights built, then the call of the brief.
    def gistar_cold(clock: Clock) -> None:
        clear_cache()
        with clock("total"):
            with clock("study grid"):
                g = study_grid(con, CELL_M)
            with clock("queen weights"):
                weights_queen(g)
            with clock("hotspot_cells"):
                hotspot_cells(con, g, flt)

    result["gistar_cold"] = repeat(reps, gistar_cold)

    # 2. Gi* warm (grid and weights cached) and what hotspot_cells spends its time on.
    grid = study_grid(con, CELL_M)
    W = weights_queen(grid)
    params = {**flt.params(), "crs": grid.crs, "cell": float(grid.size)}

    def gistar_warm(clock: Clock) -> None:
        with clock("total"):
            g = study_grid(con, CELL_M)
            hotspot_cells(con, g, flt)
        with clock("part: study_grid lookup (fingerprint SQL)"):
            study_grid(con, CELL_M)
        with clock("part: counts SQL (grid_counts_square)"):
            got = query(con, "grid_counts_square", params).fetchnumpy()
        with clock("part: cell positions + add (numpy)"):
            pos = grid.positions_square(np.asarray(got["ix"]), np.asarray(got["iy"]))
            counts = np.zeros(grid.n, np.int64)
            ok = pos >= 0
            np.add.at(counts, pos[ok], np.asarray(got["n"], np.int64)[ok])
        with clock("part: gi_star"):
            z = gi_star(counts, W)
        with clock("part: p + FDR bins"):
            gi_bins(z, z_to_p(z), fdr=True)

    result["gistar_warm"] = repeat(reps, gistar_warm)

    # 3. Filter changes on the cached grid: each filter timed on its own, the filters taken in turn.
    changes: dict[str, Any] = {}
    saved: dict[str, Any] = {}
    for name, f in filters:

        def change(clock: Clock, f: Any = f) -> None:
            with clock("total"):
                g = study_grid(con, CELL_M)
                frame = hotspot_cells(con, g, f)
            with clock("counts only (bin_counts)"):
                bin_counts(con, g, f)
            saved["frame"] = frame

        changes[name] = repeat(reps, change)
        frame = saved["frame"]
        changes[name]["counted"] = int(frame["count"].sum())
        saved[f"z:{name}"] = frame["gi_z"].to_numpy()
        saved[f"count:{name}"] = frame["count"].to_numpy()
    result["filter_changes"] = changes

    # 4. The full set, cold (grid cache cleared first) and warm: Gi* + KDE + DBSCAN + emerging.
    kept: dict[str, Any] = {}

    def full(clock: Clock, cold: bool) -> None:
        if cold:
            clear_cache()
        with clock("total"):
            with clock("Gi* (study_grid + hotspot_cells)"):
                g = study_grid(con, CELL_M)
                hotspot_cells(con, g, flt)
            with clock("KDE (kde_for_store)"):
                kde = kde_for_store(con, flt=flt)
            with clock("DBSCAN (dbscan_clusters)"):
                clusters = dbscan_clusters(con, EPS_M, flt=flt)
            with clock("emerging (18 monthly slices)"):
                z, counts, starts = emerging(g, clock)
        kept.update(kde=kde, clusters=clusters, z=z, counts=counts, starts=starts)

    result["full_cold"] = repeat(reps, lambda c: full(c, True))
    result["full_warm"] = repeat(reps, lambda c: full(c, False))
    kde, clusters = kept["kde"], kept["clusters"]
    result["kde"] = {k: kde[k] for k in ("cell_m", "bandwidth_m", "n_locations", "total")} | {
        "cells_shown": len(kde["lon"])
    }
    result["clusters"] = {"n": len(clusters), "largest": [c.count for c in clusters[:5]]}
    result["slices"] = [d.isoformat() for d in kept["starts"]]

    # Where KDE and DBSCAN spend their time: the SQL that hands over the points, run on its own.
    sel = {**flt.params(), "crs": crs}

    def sql_parts(clock: Clock) -> None:
        with clock("kde_points SQL"):
            query(con, "kde_points", sel).fetchnumpy()
        with clock("clusters_points SQL (.df())"):
            query(con, "clusters_points", sel).df()

    result["sql_parts"] = repeat(reps, sql_parts)

    # 5. The hotspots() calls as the CLI makes them (public audience; KDE is refused there, so analyst).
    calls = [("gistar", "public"), ("emerging", "public"), ("dbscan", "public"), ("kde", "analyst")]

    def cli_calls(clock: Clock, cold: bool) -> None:
        if cold:
            clear_cache()
        with clock("total"):
            for method, audience in calls:
                with clock(f"hotspots(method={method}, audience={audience})"):
                    hotspots(con, settings, method=method, flt=flt, audience=audience, cell_m=CELL_M)  # type: ignore[arg-type]

    def overheads(clock: Clock) -> None:
        with clock("grid.polygons() (every gistar/emerging call builds all cells)"):
            grid.polygons()

    result["overheads"] = repeat(reps, overheads)
    result["hotspots_cold"] = repeat(reps, lambda c: cli_calls(c, True))
    result["hotspots_warm"] = repeat(reps, lambda c: cli_calls(c, False))

    # 6. For the report: the shipped counting query (keys stored per concern since migration 0008) against the
    # query it replaced (each place transformed, group strings counted distinct), for two filters.
    before_0008 = """
        WITH per_place AS (
            SELECT geom, CASE WHEN $groups THEN count(DISTINCT coalesce(group_id, source || '/' || id))
                              ELSE count(*) END AS n
            FROM concerns
            WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]),
                                 CAST($since AS TIMESTAMP), CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
            GROUP BY geom
        ), metric AS (SELECT ST_Transform(geom, 'EPSG:4326', $crs, always_xy := true) AS m, n FROM per_place)
        SELECT floor(ST_X(m) / $cell)::BIGINT AS ix, floor(ST_Y(m) / $cell)::BIGINT AS iy, sum(n)::BIGINT AS n
        FROM metric GROUP BY ALL"""
    whatif: dict[str, Any] = {}
    for name, f in (filters[0], filters[-1]):
        p = {**f.params(), "cell": float(CELL_M)}

        def variants(clock: Clock, p: dict[str, Any] = p) -> None:
            with clock("shipped query (stored place and unit key), groups"):
                query(con, "grid_counts_square", p).fetchnumpy()
            with clock("shipped query, reports"):
                query(con, "grid_counts_square", {**p, "groups": False}).fetchnumpy()
            with clock("query before migration 0008, groups"):
                con.execute(before_0008, {**p, "crs": crs}).fetchnumpy()
            with clock("query before migration 0008, reports"):
                con.execute(before_0008, {**p, "crs": crs, "groups": False}).fetchnumpy()

        whatif[name] = repeat(reps, variants)
    result["whatif"] = whatif

    result["grid"] = {"cells": grid.n, "crs": grid.crs}
    cluster_sizes = np.array(sorted((c.count for c in clusters), reverse=True), dtype=np.int64)
    np.savez(
        npz,
        ix=np.asarray(grid.ix),
        iy=np.asarray(grid.iy),
        slice_z=kept["z"],
        slice_counts=kept["counts"],
        cluster_sizes=cluster_sizes,
        names=np.array([n for n, _ in filters]),
        **{f"z{i}": saved[f"z:{n}"] for i, (n, _) in enumerate(filters)},
        **{f"count{i}": saved[f"count:{n}"] for i, (n, _) in enumerate(filters)},
    )
    con.close()
    return result


def fresh_child(store: Path) -> dict[str, Any]:
    """What a fresh process pays: imports and connect, then the first call of each output (nothing cached)."""
    clock = Clock()
    with clock("imports + connect"):
        from koban_geo.analysis.gistar import hotspot_cells
        from koban_geo.analysis.grid import study_grid
        from koban_geo.analysis.hotspots import hotspots
        from koban_geo.store.db import connect
        from koban_geo.store.settings import get_settings

        con = connect(store, read_only=True)
        settings = get_settings(db=store)
    flt = _filters()[0][1]
    with clock("first Gi* (study_grid + hotspot_cells)"):
        hotspot_cells(con, study_grid(con, CELL_M), flt)
    with clock("first hotspots(kde, analyst)"):
        hotspots(con, settings, method="kde", flt=flt, audience="analyst")
    with clock("first hotspots(dbscan, public)"):
        hotspots(con, settings, method="dbscan", flt=flt, audience="public")
    with clock("first hotspots(emerging, public)"):
        hotspots(con, settings, method="emerging", flt=flt, audience="public")
    con.close()
    return {"laps": clock.laps}


# ----------------------------------------------------------------------------------------------------------
# The usual analyst pipeline (child process)
# ----------------------------------------------------------------------------------------------------------


def _dbscan_neighbour_pairs(xy: Any, eps: float) -> int:
    """How many (point, neighbour) entries scikit-learn's DBSCAN holds at once for these points (its
    radius_neighbors lists), counted on the distinct locations: sum_i c_i * sum_{j within eps of i} c_j."""
    import numpy as np
    from scipy.spatial import cKDTree

    places, counts = np.unique(np.round(xy, 1), axis=0, return_counts=True)
    tree = cKDTree(places)
    total = 0
    for i, near in enumerate(tree.query_ball_point(places, eps)):
        total += int(counts[i]) * int(counts[near].sum())
    return total


def baseline_child(
    store: Path, reps: int, npz: Path, dbscan_budget: float, min_reports: int
) -> dict[str, Any]:
    clock_imports = Clock()
    with clock_imports("imports"):
        import esda
        import geopandas as gpd
        import libpysal
        import numpy as np
        import pandas as pd
        import shapely
        from sklearn.cluster import DBSCAN

        from koban_geo.store.db import connect
        from koban_geo.store.sql import meta_get
    con = connect(store, read_only=True)  # only to load the spatial extension offline
    crs = meta_get(con, "metric_crs")
    filters = _filters()
    name0, flt0 = filters[0]
    result: dict[str, Any] = {"imports_s": clock_imports.laps["imports"], "reps": reps}

    def select(frame: Any, flt: Any) -> Any:
        keep = np.ones(len(frame), dtype=bool)
        if flt.themes is not None:
            keep &= frame["theme"].isin(flt.themes).to_numpy()
        if flt.since is not None:
            keep &= (frame["reported_at"] >= pd.Timestamp(flt.since)).to_numpy()
        if flt.until is not None:
            keep &= (frame["reported_at"] < pd.Timestamp(flt.until)).to_numpy()
        if flt.areas is not None:
            keep &= frame["area_code"].isin(flt.areas).to_numpy()
        return frame[keep]

    def counts_per_cell(joined: Any, n: int) -> Any:
        # unit "groups" (Filter's default): a near-duplicate group counts once
        per_cell = joined.drop_duplicates("unit").groupby("index_right").size()
        return per_cell.reindex(pd.RangeIndex(n), fill_value=0).to_numpy()

    state: dict[str, Any] = {}

    def cold(clock: Clock) -> None:
        with clock("total"):
            with clock("read concerns into pandas"):
                frame = con.sql(
                    "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, theme, reported_at, area_code, "
                    "coalesce(group_id, source || '/' || id) AS unit FROM concerns"
                ).df()
            with clock("points + to_crs"):
                points = gpd.GeoDataFrame(
                    frame.drop(columns=["lon", "lat"]),
                    geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
                    crs="EPSG:4326",
                ).to_crs(crs)
            with clock("100 m cells over the study area"):
                wkb = con.sql("SELECT ST_AsWKB(geom) AS wkb FROM areas").df()["wkb"]
                areas = gpd.GeoSeries.from_wkb([bytes(b) for b in wkb], crs="EPSG:4326")
                study = gpd.GeoSeries([areas.union_all()], crs="EPSG:4326").to_crs(crs).iloc[0]
                minx, miny, maxx, maxy = study.bounds
                ixs = np.arange(math.floor(minx / CELL_M), math.floor(maxx / CELL_M) + 1)
                iys = np.arange(math.floor(miny / CELL_M), math.floor(maxy / CELL_M) + 1)
                gx, gy = (a.ravel() for a in np.meshgrid(ixs, iys, indexing="ij"))  # (ix, iy) order
                inside = shapely.contains_xy(study, (gx + 0.5) * CELL_M, (gy + 0.5) * CELL_M)
                gx, gy = gx[inside], gy[inside]
                cells = gpd.GeoDataFrame(
                    {"ix": gx, "iy": gy},
                    geometry=shapely.box(gx * CELL_M, gy * CELL_M, (gx + 1) * CELL_M, (gy + 1) * CELL_M),
                    crs=crs,
                )
            with clock("Queen weights (libpysal)"):
                w = libpysal.weights.Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
            with clock("filter"):
                sub = select(points, flt0)
            with clock("sjoin points to cells"):
                joined = gpd.sjoin(sub, cells[["geometry"]], predicate="within", how="inner")
            with clock("count per cell"):
                counts = counts_per_cell(joined, len(cells))
            with clock("esda.G_Local"):
                g = esda.G_Local(counts.astype(float), w, transform="B", star=True, permutations=0)
        # Tuned variant (not in the total): 90 % of a G_Local call on these weights is libpysal's
        # fill_diagonal (star=True on weights without a diagonal); an analyst who knows fills it once.
        with clock("tuned: fill_diagonal once"):
            w_star = libpysal.weights.fill_diagonal(w, 1.0)
        with clock("tuned: esda.G_Local (diagonal pre-filled)"):
            g_star = esda.G_Local(counts.astype(float), w_star, transform="B", star=True, permutations=0)
        assert np.allclose(g.Zs, g_star.Zs, rtol=0, atol=1e-12)
        state.update(points=points, cells=cells, w=w, w_star=w_star, z=g.Zs, counts=counts)

    result["gistar_cold"] = repeat(reps, cold)
    points, cells, w, w_star = state["points"], state["cells"], state["w"], state["w_star"]
    n = len(cells)
    result["grid"] = {"cells": n, "points": len(points)}

    # Filter changes: points, cells and weights kept in memory; filter, sjoin, count, G_Local again.
    changes: dict[str, Any] = {}
    saved: dict[str, Any] = {}
    for name, f in filters:

        def change(clock: Clock, f: Any = f, name: str = name) -> None:
            with clock("total"):
                with clock("filter + sjoin + count"):
                    sub = select(points, f)
                    joined = gpd.sjoin(sub, cells[["geometry"]], predicate="within", how="inner")
                    counts = counts_per_cell(joined, n)
                with clock("esda.G_Local"):
                    g = esda.G_Local(counts.astype(float), w, transform="B", star=True, permutations=0)
            with clock("tuned: esda.G_Local (diagonal pre-filled)"):
                esda.G_Local(counts.astype(float), w_star, transform="B", star=True, permutations=0)
            saved[name] = (g.Zs, counts)

        changes[name] = repeat(reps, change)
    result["filter_changes"] = changes

    # Emerging: the same G_Local on each month's counts (a group counts in every month it has reports in).
    def emerging(clock: Clock) -> None:
        with clock("total"):
            with clock("filter + sjoin"):
                sub = select(points, flt0)
                joined = gpd.sjoin(sub, cells[["geometry"]], predicate="within", how="inner")
            with clock("counts per cell and month"):
                month = joined["reported_at"].dt.to_period("M")
                per = (
                    joined.assign(month=month)
                    .drop_duplicates(["unit", "month"])
                    .groupby(["index_right", "month"])
                    .size()
                    .unstack(fill_value=0)
                )
                months = pd.period_range(month.min(), month.max(), freq="M")
                table = per.reindex(index=pd.RangeIndex(n), columns=months, fill_value=0).to_numpy()
            with clock("esda.G_Local x months"):
                z = np.column_stack(
                    [
                        esda.G_Local(
                            table[:, s].astype(float), w, transform="B", star=True, permutations=0
                        ).Zs
                        for s in range(table.shape[1])
                    ]
                )
        with clock("tuned: esda.G_Local x months (diagonal pre-filled)"):
            for s in range(table.shape[1]):
                esda.G_Local(table[:, s].astype(float), w_star, transform="B", star=True, permutations=0)
        state.update(slice_z=z, slice_counts=table)

    result["emerging"] = repeat(reps, emerging)

    # DBSCAN on every selected point (one per near-duplicate group, the unit counted), no weights.
    sub = select(points, flt0).drop_duplicates("unit")
    xy = np.column_stack([sub.geometry.x.to_numpy(), sub.geometry.y.to_numpy()])
    pairs = _dbscan_neighbour_pairs(xy, EPS_M)
    need_gb = pairs * 8 / 1e9
    result["dbscan"] = {"points": len(xy), "neighbour_entries": pairs, "neighbour_gb": round(need_gb, 2)}
    if need_gb <= dbscan_budget:

        def dbscan(clock: Clock) -> None:
            with clock("total"):
                labels = DBSCAN(eps=EPS_M, min_samples=min_reports).fit(xy).labels_
            state["labels"] = labels

        result["dbscan"] |= repeat(max(1, min(reps, 2)), dbscan)
        result["dbscan"]["measured_on"] = "every point"
        labels = state["labels"]
        sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, np.int64)
        cluster_sizes = np.sort(sizes)[::-1]
    else:  # measured on a subsample whose neighbour lists fit, extrapolated by the neighbour entries (~f^2)
        frac = math.sqrt(dbscan_budget / need_gb) * 0.9
        rng = np.random.default_rng(1)
        pick = rng.random(len(xy)) < frac
        t = time.perf_counter()
        DBSCAN(eps=EPS_M, min_samples=max(1, round(min_reports * frac))).fit(xy[pick])
        took = time.perf_counter() - t
        result["dbscan"] |= {
            "measured_on": f"a {frac:.1%} subsample ({int(pick.sum()):,} points), extrapolated by f^-2",
            "sample_s": took,
            "median": {"total": took / (frac * frac)},
            "extrapolated": True,
        }
        cluster_sizes = np.zeros(0, np.int64)

    np.savez(
        npz,
        ix=state["cells"]["ix"].to_numpy(),
        iy=state["cells"]["iy"].to_numpy(),
        slice_z=state["slice_z"],
        slice_counts=state["slice_counts"],
        cluster_sizes=cluster_sizes,
        names=np.array([nm for nm, _ in filters]),
        **{f"z{i}": saved[nm][0] for i, (nm, _) in enumerate(filters)},
        **{f"count{i}": saved[nm][1] for i, (nm, _) in enumerate(filters)},
    )
    con.close()
    return result


# ----------------------------------------------------------------------------------------------------------
# Comparison and report
# ----------------------------------------------------------------------------------------------------------


def compare(koban_npz: Path, baseline_npz: Path) -> dict[str, Any]:
    """Gi* z-scores of both, aligned by cell (ix, iy): max abs difference per filter and over the slices."""
    from collections import Counter

    import numpy as np

    k = np.load(koban_npz)
    b = np.load(baseline_npz)
    kkey = (k["ix"].astype(np.int64) << 32) + k["iy"].astype(np.int64)
    bkey = (b["ix"].astype(np.int64) << 32) + b["iy"].astype(np.int64)
    same_cells = bool(kkey.size == bkey.size and np.array_equal(np.sort(kkey), np.sort(bkey)))
    out: dict[str, Any] = {
        "cells_koban": int(kkey.size),
        "cells_baseline": int(bkey.size),
        "same_cells": same_cells,
        "same_order": bool(np.array_equal(kkey, bkey)),
        "filters": {},
    }
    if not same_cells:
        return out
    order = np.argsort(bkey)[np.searchsorted(np.sort(bkey), kkey)]  # baseline position of each KOBAN cell
    for i, name in enumerate(k["names"]):
        dz = np.abs(k[f"z{i}"] - b[f"z{i}"][order])
        out["filters"][str(name)] = {
            "max_abs_dz": float(dz.max()),
            "counts_equal": bool(np.array_equal(k[f"count{i}"], b[f"count{i}"][order])),
            "nonzero_cells": int((k[f"count{i}"] > 0).sum()),
        }
    ks, bs = k["slice_z"], b["slice_z"][order]
    out["slices"] = {
        "shape_koban": list(ks.shape),
        "shape_baseline": list(bs.shape),
        "max_abs_dz": float(np.abs(ks - bs).max()) if ks.shape == bs.shape else None,
        "counts_equal": bool(
            ks.shape == bs.shape and np.array_equal(k["slice_counts"], b["slice_counts"][order])
        ),
    }
    kc, bc = k["cluster_sizes"], b["cluster_sizes"]
    out["clusters"] = {
        "koban": int(kc.size),
        "baseline": int(bc.size),
        "clustered_koban": int(kc.sum()),
        "clustered_baseline": int(bc.sum()),
        "same_sizes": bool(bc.size > 0 and np.array_equal(kc, bc)),
        # clusters whose size has no equal among the other's (a multiset difference, not by position)
        "unmatched_sizes": int(sum((Counter(kc.tolist()) - Counter(bc.tolist())).values())),
    }
    out["identical"] = bool(
        all(f["max_abs_dz"] <= 1e-6 for f in out["filters"].values())
        and out["slices"]["max_abs_dz"] is not None
        and out["slices"]["max_abs_dz"] <= 1e-6
    )
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build (or reuse) the store, run the contenders one after another in fresh processes, compare."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store, data = ensure_store(out, args.rows)
    load_before = _common.load_average()
    started = datetime.now().isoformat(timespec="minutes")
    koban_npz = out / f"hotspots-{args.rows}-koban.npz"
    baseline_npz = out / f"hotspots-{args.rows}-baseline.npz"
    script = Path(__file__).resolve()
    common = ["--store", str(store)]

    print("koban ...", flush=True)
    koban = _common.run_child(
        script, ["--child", "koban", *common, "--reps", str(args.reps), "--npz", str(koban_npz)], timeout=3600
    )
    print(
        f"  Gi* cold {koban['gistar_cold']['median']['total']:.3f} s, "
        f"full cold {koban['full_cold']['median']['total']:.2f} s",
        flush=True,
    )
    fresh = []
    for i in range(args.fresh):
        print(f"koban, fresh process {i + 1}/{args.fresh} ...", flush=True)
        fresh.append(_common.run_child(script, ["--child", "fresh", "--store", str(store)], timeout=600))
    print("baseline ...", flush=True)
    baseline = _common.run_child(
        script,
        [
            "--child",
            "baseline",
            *common,
            "--reps",
            str(args.baseline_reps),
            "--npz",
            str(baseline_npz),
            "--dbscan-budget-gb",
            str(args.dbscan_budget_gb),
            "--min-reports",
            str(koban["min_reports"]),
        ],
        timeout=7200,
    )
    print(f"  Gi* cold {baseline['gistar_cold']['median']['total']:.2f} s", flush=True)
    check = compare(koban_npz, baseline_npz)
    return {
        "rows": args.rows,
        "started": started,
        "finished": datetime.now().isoformat(timespec="minutes"),
        "load_before": load_before,
        "load_after": _common.load_average(),
        "machine": _common.machine(PACKAGES),
        "data": data,
        "koban": koban,
        "fresh": fresh,
        "baseline": baseline,
        "check": check,
    }


def _s(x: float) -> str:
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def _runs(block: dict[str, Any], key: str = "total") -> str:
    return ", ".join(_s(r.get(key, 0.0)) for r in block["runs"])


def headline(r: dict[str, Any]) -> dict[str, float]:
    """The figures the targets are about (seconds), and the ratios."""
    k, b = r["koban"], r["baseline"]
    name0 = k["filter"]
    changes = {n: c["median"]["total"] for n, c in k["filter_changes"].items() if n != name0}
    b_changes = {n: c["median"]["total"] for n, c in b["filter_changes"].items() if n != name0}
    b_changes_tuned = {
        n: c["median"]["filter + sjoin + count"] + c["median"]["tuned: esda.G_Local (diagonal pre-filled)"]
        for n, c in b["filter_changes"].items()
        if n != name0
    }
    bg, be = b["gistar_cold"]["median"], b["emerging"]["median"]
    b_gistar = bg["total"]
    b_full = b_gistar + be["total"] + b["dbscan"]["median"]["total"]
    b_gistar_tuned = (
        b_gistar
        - bg["esda.G_Local"]
        + bg["tuned: fill_diagonal once"]
        + bg["tuned: esda.G_Local (diagonal pre-filled)"]
    )
    b_emerging_tuned = (
        be["total"] - be["esda.G_Local x months"] + be["tuned: esda.G_Local x months (diagonal pre-filled)"]
    )
    b_full_tuned = b_gistar_tuned + b_emerging_tuned + b["dbscan"]["median"]["total"]
    k_change = statistics.median(changes.values())
    return {
        "b_gistar_tuned": b_gistar_tuned,
        "b_change_median_tuned": statistics.median(b_changes_tuned.values()),
        "b_full_tuned": b_full_tuned,
        "ratio_gistar_tuned": b_gistar_tuned / k["gistar_cold"]["median"]["total"],
        "ratio_change_tuned": statistics.median(b_changes_tuned.values()) / k_change,
        "ratio_full_tuned": b_full_tuned / k["full_cold"]["median"]["total"],
        "gistar_cold": k["gistar_cold"]["median"]["total"],
        "gistar_warm": k["gistar_warm"]["median"]["total"],
        "filter_change_worst": max(changes.values()),
        "filter_change_median": statistics.median(changes.values()),
        "full_cold": k["full_cold"]["median"]["total"],
        "full_warm": k["full_warm"]["median"]["total"],
        "b_gistar": b_gistar,
        "b_change_median": statistics.median(b_changes.values()),
        "b_full": b_full,
        "ratio_gistar": b_gistar / k["gistar_cold"]["median"]["total"],
        "ratio_change": statistics.median(b_changes.values()) / statistics.median(changes.values()),
        "ratio_full": b_full / k["full_cold"]["median"]["total"],
    }


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def verdict(r: dict[str, Any], h: dict[str, float]) -> list[str]:
    """Plain sentences: what was met, by how much a miss misses, where its time goes, what would gain."""
    k = r["koban"]
    name0 = k["filter"]
    out = ["", "### Verdict", ""]
    changes = {n: c for n, c in k["filter_changes"].items() if n != name0}
    slow = {n: c for n, c in changes.items() if c["median"]["total"] >= TARGETS["filter_change"]}
    met = [
        f"Gi* for one filter in {_s(h['gistar_cold'])} s cold and {_s(h['gistar_warm'])} s warm (target 1 s)",
        f"the full set in {_s(h['full_cold'])} s cold (target 10 s)",
    ]
    if not slow:
        met.append(f"every filter change under 0.2 s (worst {_s(h['filter_change_worst'])} s)")
    for key, label in (("gistar", "Gi* cold"), ("full", "full set"), ("change", "filter change")):
        if h[f"ratio_{key}"] >= TARGETS["ratio"]:
            met.append(f"{h[f'ratio_{key}']:.1f}x the usual pipeline on {label}")
    out.append(
        "- **Met:** "
        + "; ".join(met)
        + ". Gi* z-scores equal esda's on every cell"
        + (
            " (max abs difference {:.0e}).".format(
                max(f["max_abs_dz"] for f in r["check"]["filters"].values())
            )
            if r["check"].get("identical")
            else ": **NO**, see the check below."
        )
    )
    for n, c in slow.items():
        t = c["median"]["total"]
        sql = c["median"]["counts only (bin_counts)"]
        out.append(
            f'- **Missed:** the filter change "{n}" ({c["counted"]:,} groups counted) takes {_s(t)} s, '
            f"{t / TARGETS['filter_change'] - 1:.0%} over 0.2 s; {_s(sql)} s of it is the counting SQL "
            "(`grid_counts_square`: every selected row of the 1M-row table is read, and `count(DISTINCT "
            "coalesce(group_id, source || '/' || id))` builds and hashes a string per row); Gi* itself is "
            "milliseconds."
        )
    fast = sorted(
        c["median"]["total"] for c in changes.values() if c["median"]["total"] < TARGETS["filter_change"]
    )
    if slow and fast:
        out.append(f"  The other {len(fast)} filter changes take {_s(fast[0])}-{_s(fast[-1])} s.")
    for key, label, why in (
        (
            "change",
            "filter change",
            f"a KOBAN filter change is one SQL scan of the store ({_s(h['filter_change_median'])} s median, nearly all "
            "of it the counting query), while the baseline's is a pandas mask, an sjoin of the selected points "
            "already projected in memory and one G_Local",
        ),
        (
            "full",
            "full set",
            f"{_s(h['b_full'] - h['b_full_tuned'])} s of the baseline's {_s(h['b_full'])} s is G_Local's per-call "
            "`fill_diagonal` (19 calls), which a tuned analyst avoids",
        ),
        ("gistar", "Gi* cold", "the baseline's cold Gi* is mostly reading and projecting every point"),
    ):
        usual, tuned = h[f"ratio_{key}"], h[f"ratio_{key}_tuned"]
        if usual < TARGETS["ratio"]:
            out.append(
                f"- **Missed:** {label} is {usual:.1f}x the usual pipeline (target 10x; {tuned:.1f}x vs the "
                f"tuned one): {why}."
            )
        elif tuned < TARGETS["ratio"]:
            out.append(
                f"- **Met against the usual pipeline only:** {label} is {usual:.1f}x the usual one but "
                f"{tuned:.1f}x a tuned one: {why}."
            )
    if slow or min(h["ratio_change"], h["ratio_change_tuned"]) < TARGETS["ratio"]:
        out.append(
            '- **Where to gain:** a small LRU of counts per (grid, filter), as the issue\'s "cached bins" '
            "suggests, would serve a filter that comes back (a dashboard toggling between themes) in "
            "milliseconds; the cell grid and the weights are cached already."
        )
    out.append("")
    return out


def markdown(r: dict[str, Any], previous: dict[str, Any] | None) -> str:
    k, b, c, d, m = r["koban"], r["baseline"], r["check"], r["data"], r["machine"]
    h = headline(r)
    name0 = k["filter"]
    cells = k["grid"]["cells"]
    fresh_laps = {
        name: statistics.median(f["laps"][name] for f in r["fresh"]) for name in r["fresh"][0]["laps"]
    }
    lines: list[str] = []
    add = lines.append
    add("# Hotspot speed: KOBAN vs the usual analyst pipeline")
    add("")
    add(
        f"Written by `python bench/hotspots.py --rows {r['rows']}` (started {r['started']}, finished "
        f"{r['finished']}); edit the script, not the figures. Not a test: nothing asserts a wall-clock time."
    )
    add("")
    add("```")
    add(
        "python bench/hotspots.py                 # 1,000,000 concerns, writes this file (about 2 min; +1 min to build the store once)"
    )
    add("python bench/hotspots.py --rows 100000 --reps 3 --no-write")
    add("```")
    add("")
    add("## Data")
    add("")
    add(
        f"Generated once with a fixed seed and cached in `bench/out/` (gitignored): **{d['stored']:,} concerns** over "
        f"a 14 x 14 km box of central Helsinki (24.80-25.05 E, 60.13-60.26 N, **{WIDTH_KM * HEIGHT_KM:.0f} km²**), "
        f"{d['first'][:10]} to {d['last'][:10]} (**{len(k['slices'])} monthly slices**). {d['background_share']:.0%} "
        f"are spread evenly; the rest come from {d['clusters']} Gaussian clusters (sd {d['cluster_sd_m'][0]}-"
        f"{d['cluster_sd_m'][2]} m, median {d['cluster_sd_m'][1]} m; gamma-distributed sizes), each alive for part "
        f"of the period (30 % for all of it), steady, growing or fading, with one dominant theme. "
        f"12 non-sensitive themes of `data/themes.csv` (noise {d['themes']['noise']:.0%}, litter "
        f"{d['themes']['litter']:.0%}, ...). {d['areas']} areas (jittered quadrilaterals) tile the box."
    )
    add("")
    add(
        f"Built the real way: a CSV ({d['csv_mb']} MB) through `koban_geo.ingest.ingest_file` after the areas "
        f"GeoJSON ({d['ingest_s']:.0f} s; not timed here). Stored: {d['places']:,} distinct snapped places "
        f"(100 m grid, {d['metric_crs']}), {d['groups']:,} near-duplicate groups. Study grid: **{cells:,} cells of "
        f"100 m** (every cell whose centre lies in the union of the areas)."
    )
    add("")
    add(
        f'Main filter: `Filter(themes=("noise",))` (all months, unit "groups", the default): '
        f"{k['filter_changes'][name0]['counted']:,} groups counted."
    )
    add("")
    add("## Machine")
    add("")
    add(f"{m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}, Python {m['python']}.")
    add("Packages: " + ", ".join(f"{p} {v}" for p, v in m["packages"].items()) + ".")
    add(
        f"Shared machine: 1-minute load average {r['load_before']} before the run and {r['load_after']} after "
        "(2 cores; other jobs were running), so every figure carries that noise."
    )
    add("")
    add("## KOBAN against the targets")
    add("")
    add(
        f"Medians of {k['reps']} repetitions in one process after an untimed warm-up (imports, DuckDB buffer pool); "
        '"cold" = `gistar.clear_cache()` first, so the study grid and the Queen weights are rebuilt. '
        "Each repetition in brackets."
    )
    add("")
    add("| what | target | seconds | verdict |")
    add("|---|---:|---:|---|")
    add(
        f'| Gi* one filter, cold: `hotspot_cells(con, study_grid(con, 100), Filter(themes=("noise",)))` | < 1 s | '
        f"{_s(h['gistar_cold'])} ({_runs(k['gistar_cold'])}) | {_verdict(h['gistar_cold'] < TARGETS['gistar'])} |"
    )
    add(
        f"| Gi* one filter, warm (grid + weights cached) | < 1 s | {_s(h['gistar_warm'])} ({_runs(k['gistar_warm'])}) "
        f"| {_verdict(h['gistar_warm'] < TARGETS['gistar'])} |"
    )
    add(
        f"| filter change on cached cells, worst of {len(k['filter_changes']) - 1} | < 0.2 s | "
        f"{_s(h['filter_change_worst'])} | {_verdict(h['filter_change_worst'] < TARGETS['filter_change'])} |"
    )
    add(
        f"| filter change on cached cells, median of {len(k['filter_changes']) - 1} | < 0.2 s | "
        f"{_s(h['filter_change_median'])} | {_verdict(h['filter_change_median'] < TARGETS['filter_change'])} |"
    )
    add(
        f"| full set, cold (Gi* + KDE + DBSCAN + emerging over {len(k['slices'])} months) | < 10 s | "
        f"{_s(h['full_cold'])} ({_runs(k['full_cold'])}) | {_verdict(h['full_cold'] < TARGETS['full'])} |"
    )
    add(
        f"| full set, warm | < 10 s | {_s(h['full_warm'])} ({_runs(k['full_warm'])}) | "
        f"{_verdict(h['full_warm'] < TARGETS['full'])} |"
    )
    for key, label in (
        ("gistar", "Gi* one filter cold"),
        ("change", "filter change (median filter)"),
        ("full", "full set"),
    ):
        usual, tuned = h[f"ratio_{key}"], h[f"ratio_{key}_tuned"]
        add(
            f"| vs baseline, {label} | >= 10x | {usual:.1f}x (tuned baseline {tuned:.1f}x) | "
            f"{_verdict(usual >= TARGETS['ratio'])} (tuned: {_verdict(tuned >= TARGETS['ratio'])}) |"
        )
    ident = c.get("identical", False)
    worst = max((f["max_abs_dz"] for f in c["filters"].values()), default=float("nan"))
    add(
        f"| Gi* z identical to esda (every cell, {len(c['filters'])} filters + {len(k['slices'])} slices) | <= 1e-6 | "
        f"max abs diff {worst:.1e} (slices {c.get('slices', {}).get('max_abs_dz', float('nan')):.1e}) | {_verdict(ident)} |"
    )
    add("")
    lines.extend(verdict(r, h))
    add("### Where the time goes")
    add("")
    add(
        "Gi* cold, by step (median s): "
        + ", ".join(f"{n} {_s(v)}" for n, v in k["gistar_cold"]["median"].items() if n != "total")
        + "."
    )
    add("")
    add(
        "Gi* warm, the parts of `hotspot_cells` run one by one (median s): "
        + ", ".join(
            f"{n.removeprefix('part: ')} {_s(v)}"
            for n, v in k["gistar_warm"]["median"].items()
            if n != "total"
        )
        + "."
    )
    add("")
    add("Full set cold, by part (median s):")
    add("")
    add("| part | cold | warm |")
    add("|---|---:|---:|")
    for name, v in k["full_cold"]["median"].items():
        add(f"| {name} | {_s(v)} | {_s(k['full_warm']['median'].get(name, 0.0))} |")
    add("")
    add(
        "The SQL that hands KDE and DBSCAN their points, on its own (median s): "
        + ", ".join(f"{n} {_s(v)}" for n, v in k["sql_parts"]["median"].items())
        + "."
    )
    add(
        f"KDE: {k['kde']['n_locations']:,} weighted locations, bandwidth {k['kde']['bandwidth_m']:.0f} m, "
        f"{k['kde']['cells_shown']:,} cells of {k['kde']['cell_m']:g} m shown. DBSCAN (eps {EPS_M:g} m, min "
        f"{k['min_reports']} reports, the library's default for this filter: 3x what an even spread over the "
        f"study area puts in a disc of radius eps, at least 10): {k['clusters']['n']} clusters, largest "
        f"{k['clusters']['largest']}."
    )
    clustered = c.get("clusters", {}).get("clustered_koban") or 0
    if clustered and k["clusters"]["largest"]:
        add(
            f"The largest cluster holds {k['clusters']['largest'][0] / clustered:.0%} of the clustered groups "
            f"({k['filter_changes'][name0]['counted']:,} groups of one theme on {cells:,} cells in "
            f"{len(k['slices'])} months; a fixed threshold of 10 made nearly every place a core point and one "
            "cluster of 98 % in the run before the adaptive default)."
        )
    add("")
    add("### Filter changes (grid and weights cached)")
    add("")
    add(
        '`study_grid(con, 100)` + `hotspot_cells(con, grid, flt)`; "counts only" is `bin_counts` alone (one SQL query).'
    )
    add("")
    add("| filter | counted | seconds | counts only | baseline | ratio | tuned baseline | ratio |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, ch in k["filter_changes"].items():
        bm = b["filter_changes"][name]["median"]
        bt = bm["total"]
        bu = bm["filter + sjoin + count"] + bm["tuned: esda.G_Local (diagonal pre-filled)"]
        kt = ch["median"]["total"]
        add(
            f"| {name}{' (same filter again)' if name == name0 else ''} | {ch['counted']:,} | {_s(kt)} "
            f"({_runs(ch)}) | {_s(ch['median']['counts only (bin_counts)'])} | {_s(bt)} | {bt / kt:.0f}x | "
            f"{_s(bu)} | {bu / kt:.0f}x |"
        )
    add("")
    add(
        "The counting query (`grid_counts_square.sql`) with the metric place and the group's hash stored per "
        "concern at ingest (migration 0008), against the query before it (each snapped place transformed on "
        "every call, group strings counted distinct), same store and process, median s:"
    )
    add("")
    names = list(k["whatif"])
    add("| counting variant | " + " | ".join(names) + " |")
    add("|---|" + "---:|" * len(names))
    for variant in k["whatif"][names[0]]["median"]:
        add(f"| {variant} | " + " | ".join(_s(k["whatif"][n]["median"][variant]) for n in names) + " |")
    add("")
    add("### As the CLI runs them: `koban_geo.analysis.hotspots.hotspots(...)`")
    add("")
    add(
        "Public audience (KDE is refused for public audiences, so it runs as analyst). These calls also build "
        "the output rows: k-suppression, labels and the cell polygons of the whole grid."
    )
    add("")
    add("| call | cold | warm |")
    add("|---|---:|---:|")
    for name, v in k["hotspots_cold"]["median"].items():
        add(f"| {name} | {_s(v)} | {_s(k['hotspots_warm']['median'][name])} |")
    add("")
    add(
        "Against the library calls in the full set (Gi* "
        f"{_s(k['full_warm']['median']['Gi* (study_grid + hotspot_cells)'])} s, KDE "
        f"{_s(k['full_warm']['median']['KDE (kde_for_store)'])} s warm), the rest is building the output rows in "
        f"Python: one geometry and one dict per row ({k['kde']['cells_shown']:,} KDE cells as shapely points, a "
        "row per cell with data for Gi* and emerging) and the audience gate; "
        + ", ".join(f"{n} {_s(v)} s" for n, v in k["overheads"]["median"].items())
        + "."
    )
    add("")
    add(
        f"A fresh process (median of {len(r['fresh'])}; what `koban-geo hotspots` pays before writing GeoJSON): "
        + ", ".join(f"{n} {_s(v)} s" for n, v in fresh_laps.items())
        + "."
    )
    add("")
    add("## The usual analyst pipeline (baseline)")
    add("")
    add(
        "Same store, same filter, in the same run, in its own fresh process: the concerns read into pandas "
        "(`con.sql(...).df()`: lon, lat, theme, reported_at, area_code and the group key), geopandas points "
        f'`to_crs("{d["metric_crs"]}")` (the store\'s metric CRS), the same 100 m cells as square polygons '
        "(centre inside the union of the areas), `libpysal.weights.Queen.from_dataframe`, pandas filter, "
        '`gpd.sjoin(predicate="within")`, counts per cell (one per near-duplicate group, as KOBAN counts), '
        '`esda.G_Local(counts, w, star=True, transform="B", permutations=0)`. Emerging: the same `G_Local` on '
        "each month's counts (no trend classification: esda has none). Clusters: `sklearn.cluster.DBSCAN"
        f"(eps={EPS_M:g}, min_samples={k['min_reports']})` (KOBAN's threshold) on the metric coordinates of every selected point (one per "
        "group), no weights. No KDE in the baseline (KOBAN's full set includes it, so that ratio is conservative). "
        f"Imports ({_s(b['imports_s'])} s) are not counted, as for KOBAN. Medians of {b['reps']} repetitions."
    )
    add("")
    add(
        "**Tuned baseline.** About 90 % of each `G_Local` call here is libpysal's `fill_diagonal`, which "
        "`star=True` runs on every call when the weights have no diagonal (it rebuilds the W object). An analyst "
        "who knows fills the diagonal once (`libpysal.weights.fill_diagonal(w, 1)`) and passes that; the z-scores "
        "are the same. The tuned figures swap those laps; both are reported, the target is about the usual one."
    )
    add("")
    add("| step | seconds |")
    add("|---|---:|")
    for name, v in b["gistar_cold"]["median"].items():
        runs = f" ({_runs(b['gistar_cold'])})" if name == "total" else ""
        add(f"| Gi* cold: {name} | {_s(v)}{runs} |")
    add(f"| Gi* cold, tuned total | {_s(h['b_gistar_tuned'])} |")
    for name, v in b["emerging"]["median"].items():
        add(f"| emerging: {name} | {_s(v)} |")
    db = b["dbscan"]
    note = " **extrapolated**" if db.get("extrapolated") else ""
    add(f"| DBSCAN ({db['points']:,} points; {db['measured_on']}){note} | {_s(db['median']['total'])} |")
    add(f"| full set (Gi* cold + emerging + DBSCAN) | {_s(h['b_full'])} |")
    add(f"| full set, tuned | {_s(h['b_full_tuned'])} |")
    add("")
    add(
        f"DBSCAN's neighbour lists for these points hold {db['neighbour_entries']:,} entries "
        f"({db['neighbour_gb']} GB of int64): scikit-learn keeps them all at once."
    )
    add("")
    add("## Speed ratios (baseline seconds / KOBAN seconds)")
    add("")
    add("| comparison | baseline | tuned baseline | KOBAN | ratio | ratio vs tuned |")
    add("|---|---:|---:|---:|---:|---:|")
    for key, bkey, kkey, label in (
        ("gistar", "b_gistar", "gistar_cold", "Gi* one filter, cold"),
        (
            "change",
            "b_change_median",
            "filter_change_median",
            "filter change (median over the other filters)",
        ),
        ("full", "b_full", "full_cold", "full set, cold (KOBAN includes KDE, the baseline does not)"),
    ):
        add(
            f"| {label} | {_s(h[bkey])} | {_s(h[bkey + '_tuned'])} | {_s(h[kkey])} | **{h['ratio_' + key]:.1f}x** | "
            f"{h['ratio_' + key + '_tuned']:.1f}x |"
        )
    add("")
    add("## Gi* equality check")
    add("")
    add(
        f"Cells: KOBAN {c['cells_koban']:,}, baseline {c['cells_baseline']:,}; same set of (ix, iy): "
        f"{c['same_cells']}; same order: {c['same_order']} (compared aligned by (ix, iy) either way)."
    )
    add("")
    add("| filter | cells with reports | counts equal | max abs z difference |")
    add("|---|---:|---:|---:|")
    for name, f in c["filters"].items():
        add(f"| {name} | {f['nonzero_cells']:,} | {f['counts_equal']} | {f['max_abs_dz']:.2e} |")
    sl = c.get("slices", {})
    add(
        f"| {name0}, {len(k['slices'])} monthly slices (emerging) | - | {sl.get('counts_equal')} | "
        f"{sl.get('max_abs_dz', float('nan')):.2e} |"
    )
    add("")
    cl = c.get("clusters", {})
    add(f"Result: {'**identical** (every z within 1e-6 on every cell)' if ident else '**NOT identical**'}.")
    add("")
    add(
        f"DBSCAN, for comparison (not a target): KOBAN {cl.get('koban')} clusters holding {cl.get('clustered_koban'):,} "
        f"groups, baseline {cl.get('baseline')} clusters holding {cl.get('clustered_baseline'):,} points; same sorted "
        f"cluster sizes: {cl.get('same_sizes')} ({cl.get('unmatched_sizes')} of KOBAN's cluster sizes have no equal "
        "in the baseline). KOBAN runs DBSCAN on the distinct places weighted by their counts, which finds the same "
        "core points and the same clusters of core points as DBSCAN on every point; a border place within eps of "
        "two clusters goes to whichever DBSCAN expands first, and the two runs see the points in different orders, "
        "so some sizes differ by the border places while the number of clusters and the clustered total agree "
        "(checked once by hand on the 1,000,000-row store: identical core points and partition of them; 53 of "
        "2,090 border places went to the other neighbouring cluster)."
    )
    try:
        p = headline(previous) if previous is not None else None
    except (KeyError, TypeError):  # a record from an older version of this script
        p = None
    if previous is not None and p is not None:
        add("")
        add("## Previous run (same data)")
        add("")
        add(f"Started {previous['started']}, load average {previous['load_before']} before.")
        add("")
        add("| figure | previous | this run |")
        add("|---|---:|---:|")
        for key, label in (
            ("gistar_cold", "Gi* cold (s)"),
            ("gistar_warm", "Gi* warm (s)"),
            ("filter_change_worst", "filter change, worst (s)"),
            ("full_cold", "full set cold (s)"),
            ("full_warm", "full set warm (s)"),
            ("b_gistar", "baseline Gi* cold (s)"),
            ("b_full", "baseline full set (s)"),
            ("ratio_gistar", "ratio Gi*"),
            ("ratio_change", "ratio filter change"),
            ("ratio_full", "ratio full set"),
        ):
            add(f"| {label} | {p[key]:.3g} | {h[key]:.3g} |")
    add("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--out", default=str(HERE / "out"), help="cache for the store and arrays (gitignored)"
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each KOBAN timing")
    parser.add_argument("--baseline-reps", type=int, default=2, help="repetitions of each baseline timing")
    parser.add_argument("--fresh", type=int, default=3, help="fresh KOBAN processes timed")
    parser.add_argument(
        "--dbscan-budget-gb",
        type=float,
        default=4.0,
        help="largest DBSCAN neighbour lists the baseline may hold; beyond, a subsample",
    )
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/hotspots.md")
    parser.add_argument("--child", choices=("koban", "baseline", "fresh"), help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--npz", help=argparse.SUPPRESS)
    parser.add_argument("--min-reports", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        sys.path.insert(0, str(ROOT))
        store = Path(args.store)
        if args.child == "koban":
            _common.emit(koban_child(store, args.reps, Path(args.npz)))
        elif args.child == "baseline":
            _common.emit(
                baseline_child(store, args.reps, Path(args.npz), args.dbscan_budget_gb, args.min_reports)
            )
        else:
            _common.emit(fresh_child(store))
        return 0

    sys.path.insert(0, str(ROOT))
    result = run(args)
    out = Path(args.out)
    last = out / f"hotspots-{args.rows}-last.json"
    previous = json.loads(last.read_text(encoding="utf-8")) if last.exists() else None
    if previous is not None and previous.get("data") != result["data"]:
        previous = None
    text = markdown(result, previous)
    last.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    print(text)
    if not args.no_write:
        target = HERE / "results" / "hotspots.md"
        target.parent.mkdir(exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    if not result["check"].get("identical"):
        print("Gi* z-scores differ from esda's by more than 1e-6: see the equality check", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
