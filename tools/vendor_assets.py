"""Fetch the map's JavaScript, CSS, fonts and images once, so maps draw on a closed network.

    python tools/vendor_assets.py            # (or `make assets`) fill dashboard/static/vendor/, then do nothing
    python tools/vendor_assets.py --force    # fetch and write everything again
    python tools/vendor_assets.py --check    # exit 1 unless every file is present and matches the manifest

folium, branca and streamlit-folium put CDN links (Leaflet, jQuery, Bootstrap, Font Awesome, awesome-markers,
markercluster, Leaflet.heat, d3) into every map page; with no internet the map stays blank. This script gets
each library from the npm registry at the exact version folium links to (`npm pack`, integrity pinned below),
or from folium's own package files, and writes dashboard/static/vendor/MANIFEST.json:

    {"assets": {cdn_url: relative_path}, "files": {relative_path: sha256}, "packages": {...}}

Streamlit serves the folder at /app/static/vendor/ (enableStaticServing in .streamlit/config.toml);
dashboard/ui/assets.py maps each CDN URL to it, or inlines the files into a stand-alone HTML page.
The folder is not committed (.gitignore): run this on a machine that can reach the npm registry, or copy the
folder from one. Nothing is ever downloaded while the dashboard runs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "dashboard" / "static" / "vendor"
MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class Package:
    """One npm package at one version: which of its files to keep (path in package -> path under vendor/)."""

    name: str
    version: str
    integrity: str  # the registry's sha512 of the tarball, checked after `npm pack`
    files: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


_LEAFLET_IMAGES = (
    "layers.png",
    "layers-2x.png",
    "marker-icon.png",
    "marker-icon-2x.png",
    "marker-shadow.png",
)
_AWESOME_IMAGES = ("markers-matte.png", "markers-matte@2x.png", "markers-plain.png", "markers-shadow.png",
                   "markers-shadow@2x.png", "markers-soft.png", "markers-soft@2x.png")  # fmt: skip
_GLYPH_FONTS = ("eot", "svg", "ttf", "woff")
_FA_FONTS = ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")

# fmt: off
PACKAGES: tuple[Package, ...] = (
    Package("leaflet", "1.9.3",
            "sha512-iB2cR9vAkDOu5l3HAay2obcUHZ7xwUBBjph8+PGtmW/2lYhbLizWtG7nTeYht36WfOslixQF9D/uSIzhZgGMfQ==",
            {"dist/leaflet.js": "leaflet/1.9.3/leaflet.js", "dist/leaflet.css": "leaflet/1.9.3/leaflet.css",
             **{f"dist/images/{n}": f"leaflet/1.9.3/images/{n}" for n in _LEAFLET_IMAGES}}),
    Package("jquery", "3.7.1",
            "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
            {"dist/jquery.min.js": "jquery/3.7.1/jquery.min.js"}),
    Package("bootstrap", "5.2.2",
            "sha512-dEtzMTV71n6Fhmbg4fYJzQsw1N29hJKO1js5ackCgIpDcGid2ETMGC6zwSYw09v05Y+oRdQ9loC54zB1La3hHQ==",
            {"dist/css/bootstrap.min.css": "bootstrap/5.2.2/css/bootstrap.min.css",
             "dist/js/bootstrap.bundle.min.js": "bootstrap/5.2.2/js/bootstrap.bundle.min.js"}),
    # bootstrap 3.0.0 is not on npm; 3.1.1 is the oldest 3.x there: its Glyphicons rules and fonts are kept
    Package("bootstrap", "3.1.1",
            "sha512-TAzqS8E/ISpVHP29gYhy+1NSV+FJwApDVQhDfgLYsIuUDJiqJzH2DfORN5tiu+Ie2iBLrzEG34t4Rf465cigqg==",
            {"dist/css/bootstrap.css": "bootstrap-glyphicons/3.1.1/css/bootstrap.full.css",
             **{f"dist/fonts/glyphicons-halflings-regular.{x}":
                f"bootstrap-glyphicons/3.1.1/fonts/glyphicons-halflings-regular.{x}" for x in _GLYPH_FONTS}}),
    Package("@fortawesome/fontawesome-free", "6.2.0",
            "sha512-CNR7qRIfCwWHNN7FnKUniva94edPdyQzil/zCwk3v6k4R6rR2Fr8i4s3PM7n/lyfPA6Zfko9z5WDzFxG9SW1uQ==",
            {"css/all.min.css": "fontawesome-free/6.2.0/css/all.min.css",
             **{f"webfonts/{n}.{x}": f"fontawesome-free/6.2.0/webfonts/{n}.{x}"
                for n in _FA_FONTS for x in ("woff2", "ttf")}}),
    # the npm mirror of Leaflet.awesome-markers 2.0.2 (the package `leaflet.awesome-markers` skips 2.0.2)
    Package("drmonty-leaflet-awesome-markers", "2.0.2",
            "sha512-g508pdnnHQr9l4kU6McvJzcSd0w1FvHFlZZCYc4oT+zjwYJi1qtj0fFBFEWMKoNfHK4UcBya1eccyjKfu4chjQ==",
            {"js/leaflet.awesome-markers.js": "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
             "css/leaflet.awesome-markers.css": "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
             **{f"css/images/{n}": f"leaflet.awesome-markers/2.0.2/images/{n}" for n in _AWESOME_IMAGES}}),
    Package("leaflet.markercluster", "1.1.0",
            "sha512-eI+XkCiLiHwCC3uZ4/n4+Vq3rXcqEHN2lhHRVG1WVziy/3Q0TTipWkzEa1zO0dKZI2AnI5ppFDWrOjnQ7MJLKQ==",
            {"dist/leaflet.markercluster.js": "leaflet.markercluster/1.1.0/leaflet.markercluster.js",
             "dist/MarkerCluster.css": "leaflet.markercluster/1.1.0/MarkerCluster.css",
             "dist/MarkerCluster.Default.css": "leaflet.markercluster/1.1.0/MarkerCluster.Default.css"}),
    Package("d3", "3.5.5",
            "sha512-JPx0wEFxcYVcCZXgUbsy8NzVzD3zKat1KLtdCeOHPsmrpFlc09nr2/5Ls9ey7mo8SV6cWew0piLrmPVybj9I8w==",
            {"d3.min.js": "d3/3.5.5/d3.min.js"}),
    # https://d3js.org/d3.v4.min.js is the last 4.x release
    Package("d3", "4.13.0",
            "sha512-l8c4+0SldjVKLaE2WG++EQlqD7mh/dmQjvi2L2lKPadAVC+TbJC4ci7Uk9bRi+To0+ansgsS0iWfPjD7DBy+FQ==",
            {"build/d3.min.js": "d3/4.13.0/d3.min.js"}),
    # the offline vector basemap's renderer (dashboard/ui/basemap.py): one self-contained script (BSD-3-Clause)
    Package("protomaps-leaflet", "5.1.0",
            "sha512-N0YY1Gbw5nZ9n8VUOvwHKm/w3zhTTuaZEeMZl8doHemeM4ujGPp2otI6t4Sgqrz8iM4svx2rpG1Q17rHkOWSaA==",
            {"dist/protomaps-leaflet.js": "protomaps-leaflet/5.1.0/protomaps-leaflet.js",
             "LICENSE": "protomaps-leaflet/5.1.0/LICENSE"}),
)
# fmt: on

# Files that folium ships in its own package (copied, not fetched), and files generated here.
FOLIUM_FILES = {"templates/leaflet_heat.min.js": "folium/leaflet_heat.min.js"}
GENERATED = {
    # folium links this from its GitHub repository but does not ship it: 360 rotation classes, generated
    "folium/leaflet.awesome.rotate.min.css": lambda _src: "".join(
        f".fa-rotate-{d}{{-ms-transform:rotate({d}deg);-webkit-transform:rotate({d}deg);"
        f"transform:rotate({d}deg);}}"
        for d in range(1, 361)
    ),
    # the Glyphicons part of Bootstrap 3 (what netdna's bootstrap-glyphicons.css held)
    "bootstrap-glyphicons/3.1.1/css/bootstrap-glyphicons.css": lambda src: _glyphicons(
        (src / "bootstrap-glyphicons/3.1.1/css/bootstrap.full.css").read_text(encoding="utf-8")
    ),
}
DROP_AFTER = ("bootstrap-glyphicons/3.1.1/css/bootstrap.full.css",)  # only needed to generate the above

# Every CDN URL folium 0.20 / branca 0.8 / streamlit-folium 0.27 put into a page for the features we use.
ASSETS: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/1.9.3/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/1.9.3/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js": "jquery/3.7.1/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap/5.2.2/js/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": "bootstrap/5.2.2/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "bootstrap-glyphicons/3.1.1/css/bootstrap-glyphicons.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "fontawesome-free/6.2.0/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
        "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
        "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css":
        "folium/leaflet.awesome.rotate.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "leaflet.markercluster/1.1.0/leaflet.markercluster.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        "leaflet.markercluster/1.1.0/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        "leaflet.markercluster/1.1.0/MarkerCluster.Default.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js":
        "folium/leaflet_heat.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js": "d3/3.5.5/d3.min.js",
    "https://d3js.org/d3.v4.min.js": "d3/4.13.0/d3.min.js",
    # not a folium link: the URL the basemap element names its renderer by (dashboard/ui/basemap.py)
    "https://unpkg.com/protomaps-leaflet@5.1.0/dist/protomaps-leaflet.js":
        "protomaps-leaflet/5.1.0/protomaps-leaflet.js",
}  # fmt: skip


class VendorError(RuntimeError):
    """Something the person running the script can fix; the message says what."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _glyphicons(bootstrap_css: str) -> str:
    """The @font-face and .glyphicon rules of Bootstrap 3's CSS (fonts stay at ../fonts/)."""
    start = bootstrap_css.index("@font-face")
    end = bootstrap_css.index(".caret {", start)
    return "/* Glyphicons rules of Bootstrap 3.1.1 (MIT), cut out by tools/vendor_assets.py */\n" + (
        bootstrap_css[start:end].strip() + "\n"
    )


def expected_files() -> set[str]:
    files = (
        {dest for p in PACKAGES for dest in p.files.values()} | set(FOLIUM_FILES.values()) | set(GENERATED)
    )
    return files - set(DROP_AFTER)


def up_to_date(vendor: Path = VENDOR) -> bool:
    """True when the manifest lists exactly the expected assets and every file matches its sha256."""
    path = vendor / MANIFEST
    if not path.is_file():
        return False
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = manifest.get("files", {})
    if manifest.get("assets") != ASSETS or set(files) != expected_files():
        return False
    return all((vendor / rel).is_file() and sha256(vendor / rel) == digest for rel, digest in files.items())


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise VendorError(
            "npm is not installed: the map's JavaScript and CSS are fetched once from the npm registry. "
            "Install it (Debian: `apt-get install -y npm`) and run `make assets` again, or copy "
            "dashboard/static/vendor/ from a machine where `make assets` ran."
        )
    return npm


def _pack(npm: str, packages: tuple[Package, ...], into: Path) -> dict[str, Path]:
    """`npm pack` every package into `into`, checking each tarball's sha512 against the pinned integrity."""
    cmd = [npm, "pack", "--json", "--silent", "--pack-destination", str(into), *(p.spec for p in packages)]
    run = subprocess.run(cmd, cwd=into, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        detail = " ".join(line for line in run.stderr.splitlines() if "npm error" in line)[:600]
        raise VendorError(
            f"`npm pack` failed (is the npm registry reachable?): {detail or run.stderr.strip()[:600]}"
        )
    out: dict[str, Path] = {}
    for package in packages:
        tarball = into / _tarball_name(package)
        if not tarball.is_file():
            raise VendorError(f"npm did not produce {tarball.name} for {package.spec}")
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != package.integrity:
            raise VendorError(
                f"{package.spec}: the tarball's sha512 is not the pinned one (expected {package.integrity}, "
                f"got {digest}); refusing to use it"
            )
        out[package.spec] = tarball
    return out


def _tarball_name(package: Package) -> str:
    # npm names a scoped package's tarball scope-name-version.tgz
    return f"{package.name.lstrip('@').replace('/', '-')}-{package.version}.tgz"


def _extract(package: Package, tarball: Path, dest: Path) -> None:
    """Write the package's wanted files (read member by member: no path from the archive is trusted)."""
    with tarfile.open(tarball, "r:gz") as archive:
        for inner, rel in package.files.items():
            try:
                member = archive.getmember(f"package/{inner}")
            except KeyError as exc:
                raise VendorError(f"{package.spec} has no file {inner}") from exc
            handle = archive.extractfile(member)
            if handle is None:
                raise VendorError(f"{package.spec}: {inner} is not a regular file")
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(handle.read())


def _folium_dir() -> Path:
    spec = importlib.util.find_spec("folium")
    if spec is None or not spec.submodule_search_locations:
        raise VendorError("folium is not installed in this Python: run `make install` first")
    return Path(next(iter(spec.submodule_search_locations)))


def vendor(dest: Path = VENDOR, *, force: bool = False, quiet: bool = False) -> dict[str, object]:
    """Fill `dest` with every asset and write its manifest; a no-op when it is already complete."""
    if not force and up_to_date(dest):
        if not quiet:
            print(f"map assets up to date in {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
        return json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
    npm = _npm()
    with tempfile.TemporaryDirectory(prefix="koban-vendor-") as tmp:
        work = Path(tmp)
        staging = work / "vendor"
        staging.mkdir()
        tarballs = _pack(npm, PACKAGES, work)
        for package in PACKAGES:
            _extract(package, tarballs[package.spec], staging)
        folium_dir = _folium_dir()
        for inner, rel in FOLIUM_FILES.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folium_dir / inner, staging / rel)
        for rel, make in GENERATED.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(make(staging), encoding="utf-8")
        for rel in DROP_AFTER:
            (staging / rel).unlink()
        _check_css_references(staging)
        missing = sorted(set(ASSETS.values()) - expected_files())
        if missing:
            raise VendorError(f"assets mapped to files that are not vendored: {missing}")
        files = {rel: sha256(staging / rel) for rel in sorted(expected_files())}
        manifest = {
            "assets": ASSETS,
            "files": files,
            "packages": {p.spec: p.integrity for p in PACKAGES}
            | {f"folium@{_folium_version()}": "package files"},
        }
        (staging / MANIFEST).write_text(
            json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, dest)
    if not quiet:
        size = sum((dest / rel).stat().st_size for rel in files)
        print(f"vendored {len(files)} files ({size / 1e6:.1f} MB) for {len(ASSETS)} CDN URLs into {dest}")
    return manifest


_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")?#]+)")


def _check_css_references(root: Path) -> None:
    """Every relative url(...) in a vendored stylesheet that a browser would load must point to a vendored file
    (legacy formats for old browsers, which are not vendored, may be missing)."""
    optional = (".eot", ".svg", ".woff", ".otf")
    for css in root.rglob("*.css"):
        for ref in _CSS_URL.findall(css.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "http:", "https:")) or ref.endswith(optional):
                continue
            if not (css.parent / ref).resolve().is_file():
                raise VendorError(f"{css.relative_to(root)} refers to {ref}, which is not vendored")


def _folium_version() -> str:
    from importlib.metadata import version

    return version("folium")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch and write every file again")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the assets are complete")
    parser.add_argument("--dest", type=Path, default=VENDOR, help="target folder (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        ok = up_to_date(args.dest)
        print("map assets complete" if ok else "map assets missing or changed: run `make assets`")
        return 0 if ok else 1
    try:
        vendor(args.dest, force=args.force)
    except VendorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
