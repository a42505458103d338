"""The map's legend, as escaped HTML for `elements.Legend` (a collapsible Leaflet control)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ui.map.style import (
    AREA_COLOURS,
    DENSITY_GRADIENT,
    EMERGING_COLOURS,
    GI_COLOURS,
    _,
    emerging_label,
    esc,
    gi_label,
    number,
)


def swatch(colour: str, *, outline: bool = False, hatch: bool = False) -> str:
    if hatch:
        fill = "background:repeating-linear-gradient(45deg,#8c8c8c 0 2px,#e6e6e6 2px 5px);"
    elif outline:
        fill = f"background:transparent;border:2px dashed {colour};"
    else:
        fill = f"background:{colour};"
    return f'<i class="koban-swatch" aria-hidden="true" style="{fill}"></i>'


def swatches(title: str, items: Sequence[tuple[str, str]], *, outline: bool = False) -> str:
    rows = "".join(f"<div>{swatch(c, outline=outline)}{esc(label)}</div>" for c, label in items)
    return f"<div style='margin-bottom:6px'><b>{esc(title)}</b>{rows}</div>"


def gistar(lang: str) -> str:
    items = [(GI_COLOURS[b], gi_label(b, lang)) for b in (3, 2, 1, -1, -2, -3)]
    return swatches(_("Hot and cold spots (Gi*)", lang), items)


def emerging(codes: Sequence[str], lang: str, meta: dict[str, Any] | None = None) -> str:
    if not codes:
        box = swatches(_("Emerging hot spots", lang), [("#ffffff", _("No pattern found", lang))])
    else:
        box = swatches(_("Emerging hot spots", lang), [(EMERGING_COLOURS[c], emerging_label(c, lang)) for c in codes])  # fmt: skip
    span = slices_span(meta or {})
    if span:
        first, last = span
        # the months the pattern covers, ending at the last complete month with data
        note = f"{_('Month', lang)}: {first} – {last}"
        box = box[: -len("</div>")] + f"<div class='koban-legend-note'>{esc(note)}</div></div>"
    return box


def slices_span(meta: dict[str, Any]) -> tuple[str, str] | None:
    """(first, last) month of the emerging slices ('2025-11', '2026-10') when they were cut back to the last
    complete period with data (meta["slices_end"]), else None."""
    slices = meta.get("slices") or []
    if not meta.get("slices_end") or not slices or meta.get("freq", "month") != "month":
        return None
    return str(slices[0])[:7], str(slices[-1])[:7]


def areas(breaks: list[int], low: int, k: int, lang: str) -> str:
    items = []
    for i, upper in enumerate(breaks):
        label = f"{number(low, lang)}–{number(upper, lang)}" if upper > low else number(upper, lang)
        items.append(f"<div>{swatch(AREA_COLOURS[min(i, len(AREA_COLOURS) - 1)])}{esc(label)}</div>")
        low = upper + 1
    none = _("No reports", lang)
    items.append(f"<div>{swatch('#ffffff')}{esc(none)}</div>")
    hidden = _("Hidden: fewer than {k}, or protecting one", lang).format(k=k)
    items.append(f"<div>{swatch('', hatch=True)}{esc(hidden)}</div>")
    return f"<div style='margin-bottom:6px'><b>{esc(_('Reports per area', lang))}</b>{''.join(items)}</div>"


def heat(lang: str) -> str:
    stops = ",".join(f"{colour} {round(at * 100)}%" for at, colour in DENSITY_GRADIENT.items())
    bar = f"background:linear-gradient(90deg,#ffffff 0%,{stops});opacity:0.8;"
    scale = _("low to high", lang)
    return (
        f"<div style='margin-bottom:6px'><b>{esc(_('Density of reports (KDE)', lang))}</b>"
        f"<div><i aria-hidden='true' style='display:inline-block;width:90px;height:10px;vertical-align:middle;"
        f"border:1px solid #777777;{bar}'></i> {esc(scale)}</div></div>"
    )
