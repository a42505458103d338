"""axe-core in a real browser: inject it (from .cache/, `make axe`) into a page and its frames and return the
serious and critical violations. Exclusions are listed with their reason; nothing else is left out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parent.parent / ".cache" / "axe-core" / "4.14.1" / "axe.min.js"
# Third-party internals we do not control, each with the reason:
EXCLUDE: list[list[str]] = []


def violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe violations of the page (with its same-origin frames: the map)."""
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run `make axe` (python tools/axe_core.py)")
    source = AXE.read_text(encoding="utf-8")
    for frame in page.frames:
        try:
            frame.add_script_tag(content=source)
        except Exception:  # noqa: BLE001 - a frame that went away while injecting
            continue
    found = page.evaluate(
        """async (exclude) => {
            const result = await axe.run({exclude: exclude}, {resultTypes: ["violations"], iframes: true});
            return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 5).map(n => ({target: n.target, summary: n.failureSummary}))}));
        }""",
        EXCLUDE,
    )
    return list(found)
