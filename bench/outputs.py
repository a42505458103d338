"""Whole-process benchmark of the analyst's Gi* export (issue 17): `koban-geo hotspots --method gistar --cell 100
--audience analyst --out X` (every cell written) against the usual pandas + geopandas + libpysal + esda script on
the same concerns, side by side in one run, each in fresh processes; plus export times and sizes per format
(GeoJSON, CSV, GeoPackage, GeoParquet) and `koban-geo --help`.

    python bench/outputs.py                  # 1,000,000 concerns; writes bench/results/outputs.md
    python bench/outputs.py --reps 1 --no-write

The store is bench/hotspots.py's cached one (bench/out/, built once through `ingest_file`). The baseline reads
the same concerns as a CSV (snapped lon/lat, theme, time, area, near-duplicate group) and the areas as GeoJSON,
both written from the store once. Wall seconds and CPU seconds (user + system of the child process) are both
reported; on a shared machine the CPU figure is the steadier one. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common
import hotspots as hotspot_bench

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CELL_M = 100
TARGETS = {"ratio": 8.0, "help": 0.3}
PACKAGES = ("duckdb", "numpy", "scipy", "pandas", "geopandas", "shapely", "pyproj", "pyogrio", "pyarrow",
            "libpysal", "esda")  # fmt: skip
FORMATS = ("geojson", "csv", "gpkg", "parquet")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'dashboard'}"}


def timed(command: list[str]) -> dict[str, float]:
    """Run one fresh process; its wall seconds and its own CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=_env(), check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": round(wall, 3), "cpu": round(cpu, 3)}


def _median(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in ("wall", "cpu")} | {"runs": runs}


def baseline_inputs(store: Path, out: Path) -> tuple[Path, Path]:
    """The concerns as CSV and the areas as GeoJSON, written from the store once (cached beside it)."""
    csv_path = out / f"{store.stem}-concerns.csv"
    areas_path = out / f"{store.stem}-areas.geojson"
    if csv_path.exists() and areas_path.exists():
        return csv_path, areas_path
    from koban_geo.store.db import connect

    con = connect(store, read_only=True)
    con.execute(
        f"COPY (SELECT round(ST_X(geom), 6) AS lon, round(ST_Y(geom), 6) AS lat, theme, reported_at, area_code, "
        f"coalesce(group_id, source || '/' || id) AS unit FROM concerns) TO '{csv_path}' (HEADER)"
    )
    con.execute(f"COPY (SELECT code, geom FROM areas) TO '{areas_path}' WITH (FORMAT GDAL, DRIVER 'GeoJSON')")
    con.close()
    return csv_path, areas_path


# ----------------------------------------------------------------------------------------------------------
# The usual analyst script (a child process): pandas + geopandas + libpysal + esda, every cell written
# ----------------------------------------------------------------------------------------------------------


def baseline_child(csv_path: Path, areas_path: Path, crs: str, out: Path) -> dict[str, Any]:
    laps: dict[str, float] = {}
    t = time.perf_counter()
    import esda
    import geopandas as gpd
    import libpysal
    import numpy as np
    import pandas as pd
    import shapely

    laps["imports"] = time.perf_counter() - t
    t = time.perf_counter()
    frame = pd.read_csv(csv_path)
    points = gpd.GeoDataFrame(frame[["theme", "unit"]], geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
                              crs="EPSG:4326").to_crs(crs)  # fmt: skip
    laps["read CSV, points, to_crs"] = time.perf_counter() - t
    t = time.perf_counter()
    study = gpd.read_file(areas_path).to_crs(crs).union_all()
    minx, miny, maxx, maxy = study.bounds
    ixs = np.arange(math.floor(minx / CELL_M), math.floor(maxx / CELL_M) + 1)
    iys = np.arange(math.floor(miny / CELL_M), math.floor(maxy / CELL_M) + 1)
    gx, gy = (a.ravel() for a in np.meshgrid(ixs, iys, indexing="ij"))
    inside = shapely.contains_xy(study, (gx + 0.5) * CELL_M, (gy + 0.5) * CELL_M)
    gx, gy = gx[inside], gy[inside]
    cells = gpd.GeoDataFrame({"ix": gx, "iy": gy}, crs=crs,
                             geometry=shapely.box(gx * CELL_M, gy * CELL_M, (gx + 1) * CELL_M, (gy + 1) * CELL_M))  # fmt: skip
    laps["100 m cells"] = time.perf_counter() - t
    t = time.perf_counter()
    w = libpysal.weights.Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    laps["Queen weights"] = time.perf_counter() - t
    t = time.perf_counter()
    joined = gpd.sjoin(points, cells[["geometry"]], predicate="within", how="inner")
    counts = joined.drop_duplicates("unit").groupby("index_right").size()
    cells["count"] = counts.reindex(pd.RangeIndex(len(cells)), fill_value=0).to_numpy()
    laps["sjoin + count"] = time.perf_counter() - t
    t = time.perf_counter()
    g = esda.G_Local(cells["count"].to_numpy(dtype=float), w, star=True, transform="B", permutations=0)
    cells["gi_z"], cells["gi_p"] = g.Zs, g.p_norm
    laps["esda.G_Local"] = time.perf_counter() - t
    t = time.perf_counter()
    cells.to_crs("EPSG:4326").to_file(out, driver="GeoJSON")
    laps["write GeoJSON"] = time.perf_counter() - t
    return {"laps": {k: round(v, 3) for k, v in laps.items()}, "cells": len(cells)}


def koban_laps_child(store: Path, out_dir: Path) -> dict[str, Any]:
    """Where a `koban-geo hotspots` process spends its time, step by step, and the writers per format."""
    laps: dict[str, float] = {}
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI's Gi* sets it before numpy loads
    t = time.perf_counter()
    from koban_geo.cli import main  # noqa: F401  (the CLI's own start-up)
    from koban_geo.cli.common import without_pandas

    laps["CLI imports"] = time.perf_counter() - t
    t = time.perf_counter()
    from koban_geo.analysis.hotspots import hotspots
    from koban_geo.outputs.export import Layer, write_layer
    from koban_geo.store.db import connect
    from koban_geo.store.settings import get_settings

    laps["analysis imports"] = time.perf_counter() - t
    # as the CLI's Gi* to GeoJSON: no spatial extension (the grid is kept in the store), pandas hidden
    # (DuckDB would import it at its first bound parameter)
    with without_pandas():
        t = time.perf_counter()
        con = connect(store, read_only=True, spatial=False)
        settings = get_settings(db=store)
        laps["open store (no spatial extension)"] = time.perf_counter() - t
        t = time.perf_counter()
        rows, meta = hotspots(con, settings, method="gistar", audience="analyst", cell_m=CELL_M, rings=True)
        laps["Gi* every cell (kept grid, counts, z, rings)"] = time.perf_counter() - t
    # the CLI writes GeoJSON from the squares' rings, the other formats from shapely polygons
    polygon_rows, _ = hotspots(con, settings, method="gistar", audience="analyst", cell_m=CELL_M)
    writers: dict[str, Any] = {}
    for fmt in FORMATS:
        path = out_dir / f"writer-cells.{fmt}"
        kind = "geoparquet" if fmt == "parquet" else fmt
        c, t = time.process_time(), time.perf_counter()
        write_layer(path, Layer("hotspots", rows if fmt == "geojson" else polygon_rows, meta), kind)
        writers[fmt] = {"wall": round(time.perf_counter() - t, 3), "cpu": round(time.process_time() - c, 3),
                        "mb": round(path.stat().st_size / 1e6, 2)}  # fmt: skip
    con.close()
    return {"laps": {k: round(v, 3) for k, v in laps.items()}, "cells": len(rows), "writers": writers}


def compare(koban_file: Path, baseline_file: Path, crs: str) -> dict[str, Any]:
    """Gi* z of both files, matched by cell (ix, iy from each polygon's centre): same cells, same z."""
    import geopandas as gpd
    import numpy as np

    found = {}
    for name, path in (("koban", koban_file), ("baseline", baseline_file)):
        frame = gpd.read_file(path).to_crs(crs)
        centres = frame.geometry.centroid
        keys = list(
            zip(
                np.floor(centres.x / CELL_M).astype(int),
                np.floor(centres.y / CELL_M).astype(int),
                strict=True,
            )
        )
        found[name] = dict(zip(keys, frame["gi_z"].to_numpy(), strict=True))
    same = found["koban"].keys() == found["baseline"].keys()
    diff = (
        max(abs(found["koban"][k] - found["baseline"][k]) for k in found["koban"]) if same else float("nan")
    )
    return {"same_cells": same, "cells": len(found["koban"]), "max_z_difference": diff}


# ----------------------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store, data = hotspot_bench.ensure_store(out, args.rows)
    csv_path, areas_path = baseline_inputs(store, out)
    crs = data["metric_crs"]
    py = sys.executable
    koban_cli = [py, "-m", "koban_geo", "--db", str(store)]
    script = str(Path(__file__).resolve())
    compiled = byte_compile()
    load_before = _common.load_average()
    uptime_before = _uptime()
    koban_out = out / "outputs-koban.geojson"
    base_out = out / "outputs-baseline.geojson"
    koban_runs, base_runs = [], []
    # one untimed run first, as any first Gi* on a store does: it migrates the cached store (if older) and
    # keeps the 100 m study grid in it (table study_grids), which later runs read without the spatial extension
    timed([*koban_cli, "hotspots", "--method", "gistar", "--cell", str(CELL_M), "--audience", "analyst",
           "--out", str(koban_out)])  # fmt: skip
    for i in range(args.reps):  # interleaved, so both see the same load
        print(f"round {i + 1}/{args.reps}: koban ...", flush=True)
        koban_runs.append(timed([*koban_cli, "hotspots", "--method", "gistar", "--cell", str(CELL_M),
                                 "--audience", "analyst", "--out", str(koban_out)]))  # fmt: skip
        print(f"  {koban_runs[-1]}; baseline ...", flush=True)
        base_runs.append(timed([py, script, "--child", "baseline", "--csv", str(csv_path), "--areas",
                                str(areas_path), "--crs", crs, "--target", str(base_out)]))  # fmt: skip
        print(f"  {base_runs[-1]}", flush=True)
    formats = {}
    for fmt in FORMATS:
        path = out / f"outputs-koban.{fmt}"
        runs = [timed([*koban_cli, "hotspots", "--method", "gistar", "--cell", str(CELL_M), "--audience",
                       "analyst", "--out", str(path)]) for _ in range(args.format_reps)]  # fmt: skip
        formats[fmt] = _median(runs) | {"mb": round(path.stat().st_size / 1e6, 2)}
    help_runs = [timed([py, "-m", "koban_geo", "--help"]) for _ in range(5)]
    script_runs = [timed([str(Path(py).with_name("koban-geo")), "--help"]) for _ in range(5)]
    laps = _common.run_child(Path(script), ["--child", "laps", "--store", str(store), "--target", str(out)])
    baseline_laps = _common.run_child(Path(script), ["--child", "baseline-laps", "--csv", str(csv_path),
                                                     "--areas", str(areas_path), "--crs", crs,
                                                     "--target", str(base_out)])  # fmt: skip
    return {
        "rows": args.rows, "data": data, "started": uptime_before, "finished": _uptime(),
        "load_before": load_before, "load_after": _common.load_average(), "machine": _common.machine(PACKAGES),
        "koban": _median(koban_runs), "baseline": _median(base_runs), "formats": formats,
        "help": _median(help_runs), "help_script": _median(script_runs), "laps": laps,
        "baseline_laps": baseline_laps, "check": compare(koban_out, base_out, crs), "compiled": compiled,
    }  # fmt: skip


def byte_compile() -> int:
    """Compile koban_geo to bytecode first, as installing a package does (pip writes .pyc files for what it
    installs, the baseline's packages included): this checkout is an editable install, and this machine
    sets PYTHONDONTWRITEBYTECODE=1, so otherwise only our modules would be compiled from source in every
    timed process (about 0.05-0.1 s). Returns the number of modules compiled."""
    import compileall
    import py_compile

    files = sorted((ROOT / "koban_geo").rglob("*.py"))
    compileall.compile_dir(
        ROOT / "koban_geo", quiet=1, invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
    )
    return len(files)


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "n/a"


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "missed"


def markdown(r: dict[str, Any]) -> str:
    k, b = r["koban"], r["baseline"]
    ratio_wall, ratio_cpu = b["wall"] / k["wall"], b["cpu"] / k["cpu"]
    m = r["machine"]
    lines = [
        "# Analyst exports: whole process, every Gi* cell, formats, `--help`",
        "",
        f"Written by `python bench/outputs.py` ({r['rows']:,} concerns); edit the script, not the figures. "
        "Not a test: nothing asserts a wall-clock time.",
        "",
        "## Data and machine",
        "",
        f"bench/hotspots.py's cached store: {r['data']['stored']:,} concerns, {r['data']['places']:,} snapped "
        f"places, {r['data']['groups']:,} near-duplicate groups, 48 areas; Gi* on **{r['check']['cells']:,} "
        f"cells of {CELL_M} m** (the study grid), every theme but the sensitive ones, near-duplicate groups "
        "counted once. The baseline reads the same concerns from a CSV written from the store (lon, lat, "
        "theme, time, area, group) and the areas from GeoJSON.",
        "",
        f"{m.get('cpu', 'CPU n/a')}, {m.get('cores', '?')} cores, {m.get('ram_gb', '?')} GB RAM, Python "
        f"{m.get('python', sys.version.split()[0])}. Packages: "
        + ", ".join(f"{p} {v}" for p, v in m.get("packages", {}).items())
        + ".",
        "",
        f"koban_geo byte-compiled before the runs ({r.get('compiled', 0)} modules), as an installed package is: "
        "this checkout is an editable install on a machine with PYTHONDONTWRITEBYTECODE=1, where only our "
        "modules would otherwise be compiled from source in every process.",
        "",
        f"**Shared machine**: `uptime` before: `{r['started']}`; after: `{r['finished']}`. Wall seconds carry "
        "that load; CPU seconds (the child process's own user + system time) are the steadier figure.",
        "",
        "## Whole process, side by side (medians of interleaved fresh processes)",
        "",
        "| contender | wall s | CPU s | runs (wall / CPU) |",
        "|---|---:|---:|---|",
        f"| `koban-geo hotspots --method gistar --cell 100 --audience analyst --out cells.geojson` | "
        f"{k['wall']:.2f} | {k['cpu']:.2f} | "
        + ", ".join(f"{x['wall']:.2f}/{x['cpu']:.2f}" for x in k["runs"])
        + " |",
        '| pandas + geopandas + libpysal (Queen) + esda `G_Local(star=True, transform="B")` + `to_file` | '
        f"{b['wall']:.2f} | {b['cpu']:.2f} | "
        + ", ".join(f"{x['wall']:.2f}/{x['cpu']:.2f}" for x in b["runs"])
        + " |",
        "",
        f"Speed-up: **{ratio_cpu:.1f}x on CPU time**, {ratio_wall:.1f}x on wall time; target >= "
        f"{TARGETS['ratio']:g}x: {_verdict(ratio_cpu >= TARGETS['ratio'])} (CPU), "
        f"{_verdict(ratio_wall >= TARGETS['ratio'])} (wall). Was 1.2x (issue 17).",
        "",
        f"Same answer: both files hold the same {r['check']['cells']:,} cells "
        f"({r['check']['same_cells']}), Gi* z differs by at most {r['check']['max_z_difference']:.2e}.",
        "",
        "Where each process spends its time (one run each, wall s):",
        "",
        "| KOBAN step | s | baseline step | s |",
        "|---|---:|---|---:|",
    ]
    kl, bl = list(r["laps"]["laps"].items()), list(r["baseline_laps"]["laps"].items())
    for i in range(max(len(kl), len(bl))):
        left = f"{kl[i][0]} | {kl[i][1]:.3f}" if i < len(kl) else " | "
        right = f"{bl[i][0]} | {bl[i][1]:.3f}" if i < len(bl) else " | "
        lines.append(f"| {left} | {right} |")
    lines += [
        "",
        "## Exports of the same cells per format",
        "",
        f"{r['check']['cells']:,} cells with count, gi_bin, gi_z, gi_p and label. Whole process: "
        "`koban-geo hotspots ... --out cells.<suffix>` (median); writer: `write_layer` alone, in one process.",
        "",
        "| format | whole process wall s | CPU s | writer wall s | writer CPU s | size MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for fmt in FORMATS:
        f, w = r["formats"][fmt], r["laps"]["writers"][fmt]
        lines.append(
            f"| {fmt} | {f['wall']:.2f} | {f['cpu']:.2f} | {w['wall']:.3f} | {w['cpu']:.3f} | {f['mb']:.2f} |"
        )
    lines += [
        "",
        "What KOBAN's process spends now (wall seconds of the step-by-step run above, and cProfile): imports "
        "about 0.25 (numpy 0.1, DuckDB 0.1, pyproj 0.06, click and the command modules; the settings are a "
        "dataclass since 8 December, pydantic and pydantic-settings took 0.15-0.3), opening the store about 0.07 "
        "(no spatial extension: the 100 m study grid is kept in the store, table study_grids, so Gi* reads stored "
        "metric places and stored cells and calls no geometry function), the counting query 0.2-0.3 (DuckDB's "
        "distinct (cell, near-duplicate group) aggregate over 1,000,000 rows), Gi* 0.01 (Queen neighbours as 8 "
        "shifted lookups, no scipy), the GeoJSON 0.14 (squares written from their corners, each shared corner "
        "printed once, from the cells' columns: no shapely polygon and no dict per cell). Before: 7.1 s (issue "
        "17), 2.78 s, 1.80 s CPU on 7 December. What is left: pyproj for the cells' corners (the kept grid could "
        "keep them in lon/lat), and the distinct-group count (exact only with a per-group aggregate kept at "
        "ingest and purge).",
    ]
    h, hs = r["help"], r["help_script"]
    lines += [
        "",
        "## `koban-geo --help`",
        "",
        f"`python -m koban_geo --help`: {h['wall']:.3f} s wall, {h['cpu']:.3f} s CPU; the console script "
        f"`koban-geo --help`: {hs['wall']:.3f} s wall, {hs['cpu']:.3f} s CPU (medians of 5). Target < "
        f"{TARGETS['help']:g} s: {_verdict(hs['cpu'] < TARGETS['help'])} (CPU), "
        f"{_verdict(hs['wall'] < TARGETS['help'])} (wall). It imports click, the command modules and DuckDB; no "
        "pandas, scipy, scikit-learn, Streamlit or folium (tests/test_cli_imports.py).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--format-reps", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "out"))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", choices=["baseline", "baseline-laps", "laps"])
    parser.add_argument("--csv")
    parser.add_argument("--areas")
    parser.add_argument("--crs")
    parser.add_argument("--target")
    parser.add_argument("--store")
    parser.add_argument("--from-json", action="store_true", help="rewrite the results file from the last run")
    args = parser.parse_args(argv)
    if args.child in ("baseline", "baseline-laps"):
        result = baseline_child(Path(args.csv), Path(args.areas), args.crs, Path(args.target))
        if args.child == "baseline-laps":
            _common.emit(result)
        return 0
    if args.child == "laps":
        _common.emit(koban_laps_child(Path(args.store), Path(args.target)))
        return 0
    saved = Path(args.out) / "outputs-result.json"
    result = json.loads(saved.read_text()) if args.from_json else run(args)
    saved.write_text(json.dumps(result, indent=1, default=str))
    text = markdown(result)
    print(text)
    if not args.no_write:
        (HERE / "results" / "outputs.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
