"""The map's JavaScript and CSS from dashboard/static/vendor/, never from a CDN.

tools/vendor_assets.py (`make assets`) fills the folder and writes MANIFEST.json: {cdn_url: path} and
{path: sha256}. Here each CDN URL becomes its local one: `/app/static/vendor/<path>` for the dashboard
(Streamlit's static serving), or the file itself inlined for a stand-alone page (meeting packs, e-mail).
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent.parent / "static"
VENDOR = STATIC / "vendor"
STATIC_URL = "/app/static/vendor"  # where Streamlit serves VENDOR (enableStaticServing)
OWN = STATIC / "koban"  # the app's own map script and styles (committed)
OWN_URL = "/app/static/koban"
LEAFLET_IMAGES = "leaflet/1.9.3/images/"


class AssetsMissing(RuntimeError):
    """dashboard/static/vendor/ is missing or incomplete: `make assets` fills it."""


def _folder(vendor: Path | None) -> Path:
    return VENDOR if vendor is None else vendor


def manifest(vendor: Path | None = None) -> dict[str, Any] | None:
    """The vendor manifest, or None when the assets were never fetched (cached per file change)."""
    path = _folder(vendor) / "MANIFEST.json"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    return _read_manifest(str(path), stamp)


@lru_cache(maxsize=4)
def _read_manifest(path: str, _stamp: int) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data.get("assets"), dict) and isinstance(data.get("files"), dict) else None


def available(vendor: Path | None = None) -> bool:
    """Whether every vendored file the manifest lists is present (files are not re-hashed on every run)."""
    data = manifest(vendor)
    return data is not None and all((_folder(vendor) / rel).is_file() for rel in data["files"])


def local_url(url: str, base: str = STATIC_URL, vendor: Path | None = None) -> str | None:
    """The local URL of a CDN URL, or None when it is not vendored."""
    data = manifest(vendor)
    rel = data["assets"].get(url) if data else None
    return f"{base.rstrip('/')}/{rel}" if rel else None


def map_links(
    urls: list[str], base: str = STATIC_URL, vendor: Path | None = None
) -> tuple[list[str], list[str]]:
    """(local URLs in order, the external URLs that are not vendored and were left out)."""
    mapped: list[str] = []
    unknown: list[str] = []
    for url in urls:
        if not url.startswith(("http://", "https://", "//")):
            mapped.append(url)
            continue
        local = local_url(url, base, vendor)
        if local is None:
            unknown.append(url)
        else:
            mapped.append(local)
    return list(dict.fromkeys(mapped)), unknown


def static_base() -> str:
    """STATIC_URL under Streamlit's server.baseUrlPath (e.g. behind a reverse proxy at /koban/)."""
    try:
        import streamlit as st

        prefix = (st.get_option("server.baseUrlPath") or "").strip("/")
    except Exception:  # noqa: BLE001 - outside a Streamlit server the plain path is right
        prefix = ""
    return f"/{prefix}{STATIC_URL}" if prefix else STATIC_URL


def own_base() -> str:
    """OWN_URL under Streamlit's server.baseUrlPath."""
    return static_base().removesuffix(STATIC_URL) + OWN_URL


def own_url(url: str, base: str) -> str:
    """An OWN_URL link under `base` (other links unchanged)."""
    return base + url[len(OWN_URL) :] if url.startswith(OWN_URL + "/") else url


def _own_file(url: str) -> Path | None:
    """The file behind a link to the app's own static files (/app/static/koban/..., any base path)."""
    at = url.find(OWN_URL + "/")
    if at < 0 or url.startswith(("http://", "https://", "//")):
        return None
    rel = _norm(url[at + len(OWN_URL) + 1 :])
    return OWN / rel if rel else None


# ---------------------------------------------------------------------------------------------------------
# Inlining, for a page that must work from a file with no server and no network
# ---------------------------------------------------------------------------------------------------------

_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']([^\"']+)[\"'][^>]*>\s*</script>", re.IGNORECASE)
_LINK = re.compile(r"<link\b[^>]*\brel=[\"']stylesheet[\"'][^>]*>", re.IGNORECASE)
_HREF = re.compile(r"\bhref=[\"']([^\"']+)[\"']", re.IGNORECASE)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
_SRC_DECL = re.compile(r"\bsrc\s*:[^;}]*;?", re.IGNORECASE)
_FONT_PREFERENCE = ("woff2", "woff", "ttf", "otf")
_FONT_FORMATS = {"woff2": "woff2", "woff": "woff", "ttf": "truetype", "otf": "opentype"}


def inline_html(html: str, vendor: Path | None = None) -> str:
    """`html` with every vendored <script src> and stylesheet <link> replaced by the file's content.

    CSS url(...) references (images, fonts) become data: URIs; of a font's formats only the best one
    (woff2, else woff, ttf) is kept. Raises AssetsMissing when a file is missing, and ValueError when an
    external script or stylesheet is not vendored (the page would need the internet).
    """
    data = manifest(vendor)
    if data is None:
        raise AssetsMissing("the map assets are missing: run `make assets`")
    vendor = _folder(vendor)

    def rel_of(url: str) -> str:
        rel = data["assets"].get(url)
        if rel is None:
            raise ValueError(f"not vendored, the page would need the internet: {url}")
        return rel

    def script(match: re.Match[str]) -> str:
        url = match.group(1)
        own = _own_file(url)
        if own is not None:
            return f"<script>/* {own.name} */\n{_no_end_tag(_read_own(own), 'script')}\n</script>"
        if not url.startswith(("http://", "https://", "//")):
            return match.group(0)
        text = _read(vendor, rel_of(url)).decode("utf-8")
        return f"<script>/* {rel_of(url)} */\n{_no_end_tag(text, 'script')}\n</script>"

    def link(match: re.Match[str]) -> str:
        href = _HREF.search(match.group(0))
        own = _own_file(href.group(1)) if href is not None else None
        if own is not None:
            return f"<style>/* {own.name} */\n{_no_end_tag(_read_own(own), 'style')}\n</style>"
        if href is None or not href.group(1).startswith(("http://", "https://", "//")):
            return match.group(0)
        rel = rel_of(href.group(1))
        css = _inline_css(_read(vendor, rel).decode("utf-8"), vendor, rel)
        return f"<style>/* {rel} */\n{_no_end_tag(css, 'style')}\n</style>"

    return _LINK.sub(link, _SCRIPT.sub(script, html))


def image_data_uris(vendor: Path | None = None) -> dict[str, str]:
    """Leaflet's default marker images as data: URIs (a file page has no folder to point imagePath at)."""
    vendor = _folder(vendor)
    names = {
        "iconUrl": "marker-icon.png",
        "iconRetinaUrl": "marker-icon-2x.png",
        "shadowUrl": "marker-shadow.png",
    }
    return {key: _data_uri(vendor, LEAFLET_IMAGES + name) for key, name in names.items()}


def _read_own(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssetsMissing(f"the app's own map file {path.name} is missing") from exc


def _read(vendor: Path, rel: str) -> bytes:
    path = vendor / rel
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AssetsMissing(f"map asset {rel} is missing: run `make assets`") from exc


def _data_uri(vendor: Path, rel: str) -> str:
    kind = mimetypes.guess_type(rel)[0] or _font_mime(rel)
    return f"data:{kind};base64,{base64.b64encode(_read(vendor, rel)).decode('ascii')}"


def _font_mime(rel: str) -> str:
    ext = rel.rsplit(".", 1)[-1].lower()
    return f"font/{ext}" if ext in _FONT_FORMATS else "application/octet-stream"


def _inline_css(css: str, vendor: Path, rel: str) -> str:
    folder = Path(rel).parent

    def resolve(ref: str) -> str:
        return (folder / ref.split("?")[0].split("#")[0]).as_posix()

    def font_face(match: re.Match[str]) -> str:
        block = match.group(0)
        refs = [r for _, r in _CSS_URL.findall(block)]
        by_ext = {resolve(r).rsplit(".", 1)[-1].lower(): r for r in refs if not r.startswith("data:")}
        best = next((ext for ext in _FONT_PREFERENCE if ext in by_ext and (vendor / _norm(resolve(by_ext[ext]))).is_file()), None)  # fmt: skip
        if best is None:
            return block
        uri = _data_uri(vendor, _norm(resolve(by_ext[best])))
        body = _SRC_DECL.sub("", block).rstrip().rstrip("}")
        return f"{body};src:url({uri}) format('{_FONT_FORMATS[best]}');}}"

    def url(match: re.Match[str]) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#")):
            return match.group(0)
        target = _norm(resolve(ref))
        if not (vendor / target).is_file():
            return "url(data:,)"  # a file page must not reach for what is not there
        return f"url({_data_uri(vendor, target)})"

    css = _FONT_FACE.sub(font_face, css)
    parts = re.split(r"(url\(data:[^)]*\))", css)  # leave the data URIs just made alone
    return "".join(p if p.startswith("url(data:") else _CSS_URL.sub(url, p) for p in parts)


def _norm(path: str) -> str:
    """Collapse '..' in a vendor-relative path."""
    out: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if out:
                out.pop()
        elif part not in ("", "."):
            out.append(part)
    return "/".join(out)


def _no_end_tag(text: str, tag: str) -> str:
    """Keep inlined code from closing its own element early."""
    return re.sub(rf"</({tag})", r"<\\/\1", text, flags=re.IGNORECASE)
