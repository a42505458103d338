"""Fetch axe-core (the accessibility checker the browser tests inject) once, for the tests only.

    python tools/axe_core.py          # (run by `make test`) .cache/axe-core/<version>/axe.min.js, then nothing
    python tools/axe_core.py --check  # exit 1 unless the file is there

`npm pack` gets the tarball from the npm registry; its sha512 must match the pin below. The file is never
served by the app and never downloaded while the tests or the dashboard run (tests/a11y.py reads it).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "4.14.1"
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
TARGET = ROOT / ".cache" / "axe-core" / VERSION / "axe.min.js"


def fetch() -> Path:
    """Download, check and unpack axe.min.js (a no-op when it is there)."""
    if TARGET.is_file():
        return TARGET
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"axe-core@{VERSION}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        tarball = next(Path(tmp).glob("axe-core-*.tgz"))
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise SystemExit(f"axe-core tarball does not match its pin: {digest}")
        with tarfile.open(tarball) as tar:
            member = tar.extractfile("package/axe.min.js")
            if member is None:
                raise SystemExit("axe.min.js missing from the axe-core tarball")
            TARGET.parent.mkdir(parents=True, exist_ok=True)
            TARGET.write_bytes(member.read())
    return TARGET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the file is there")
    args = parser.parse_args()
    if args.check:
        return 0 if TARGET.is_file() else 1
    print(fetch())
    return 0


if __name__ == "__main__":
    sys.exit(main())
