"""Real-browser test support: the dashboard server on a free port, and Debian's Chromium via Playwright.

The browser is /usr/bin/chromium (installed by `make test`, target `browser`); `playwright install` would
download a browser and fails on a closed network. Screenshots go to test-artifacts/ (look at them).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium (make browser)"
)
MAP_FRAME = "iframe[title='streamlit_folium.st_folium']"  # st_folium's component frame (same origin)
# Opened at /screen or /vote, Streamlit's front end first asks /screen/_stcore/... whether the app lives under that
# path (a 404 it expects, logged by Chromium as "Failed to load resource"), then uses /.
_STREAMLIT_PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dashboard_server(db: Path, env: dict[str, str] | None = None, timeout: float = 90) -> Iterator[str]:
    """`streamlit run dashboard/server.py` on a free port against store `db`; yields the base URL."""
    port = free_port()
    log = ARTIFACTS / f"server-{port}.log"
    ARTIFACTS.mkdir(exist_ok=True)
    environment = dict(os.environ, KOBAN_DB=str(db), KOBAN_TILES_URL="", **(env or {}))
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "server.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout  # start-up wait, not a performance assertion
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                        if resp.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dashboard did not start; see {log}")
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium browser (Playwright's API) that never reaches past localhost."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def only_local(page) -> list[str]:
    """Abort every request that leaves the machine (a closed police network); returns what was blocked."""
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:", "file:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    page.route("**/*", route)
    return blocked


def wait_for_app(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script (no 'running' indicator, app rendered)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('[data-testid=\"stMainBlockContainer\"], .block-container')",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(300)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def watch(page) -> list[str]:
    """Console errors and uncaught exceptions of a page and its frames, as they happen (a live list).

    Streamlit's own base-path probes (see _STREAMLIT_PROBE) are left out; everything else counts."""
    problems: list[str] = []

    def console(msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if msg.text.startswith("Failed to load resource") and _STREAMLIT_PROBE.search(url):
            return
        problems.append(f"console error: {msg.text} ({url})")

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return problems


def mark_maps(page) -> None:
    """Note how often each map frame on the page has drawn its layers: a filter change redraws them in the
    same frame (KobanMap.generation counts the drawings; the frame stays while the base map does), or in a
    new frame when the base map changes; `map_frame(page, fresh=True)` then waits for the redrawn one."""
    page.eval_on_selector_all(
        MAP_FRAME,
        """frames => frames.forEach(f => {
            const K = f.contentWindow && f.contentWindow.KobanMap;
            f.dataset.kobanGeneration = String(K ? K.generation : 0);
        })""",
    )


_REDRAWN = """sel => Array.from(document.querySelectorAll(sel)).some(f => {
    const K = f.contentWindow && f.contentWindow.KobanMap;
    if (!K || !K.generation) return false;
    return f.dataset.kobanGeneration === undefined || K.generation > Number(f.dataset.kobanGeneration);
})"""


def map_frame(page, *, fresh: bool = False, timeout_ms: int = 60_000):
    """The (newest) map frame once Leaflet has drawn at least one interactive path in it; with `fresh`, once
    its layers were drawn again since `mark_maps` (in the same frame or a new one)."""
    if fresh:
        page.wait_for_function(_REDRAWN, arg=MAP_FRAME, timeout=timeout_ms)
    page.frame_locator(MAP_FRAME).last.locator("path.leaflet-interactive").first.wait_for(timeout=timeout_ms)
    frame = page.locator(MAP_FRAME).last.element_handle().content_frame()
    assert frame is not None
    return frame


def log_in(page, base: str, username: str, password: str) -> None:
    """Log in through the login form as a person would, landing on the map. The one place that knows how a
    login happens: the server's login form (dashboard/web, a plain HTML page setting the session cookie),
    then back to "/", the map."""
    page.goto(base + "/")
    wait_for_app(page)
    page.locator('[data-testid="login-link"]').click()  # the server's login form (web.login), then "/"
    page.get_by_role("textbox", name="User name").wait_for(timeout=60_000)
    page.get_by_role("textbox", name="User name").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    map_frame(page)
    wait_for_app(page)


def go_to(page, link_text: str) -> None:
    """Follow a sidebar link (the page's name as the navigation shows it) and wait for the page."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=link_text).first.click()
    wait_for_app(page)
