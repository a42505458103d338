"""The map's colours, labels and escaping: what every drawing module shares.

Ramps are ColorBrewer (areas: Purples; emerging: Reds and Blues; Gi*: Esri's red-blue diverging, colour-blind
safe; density: single-hue Greens, drawn half transparent under the cells). Every string that comes from data
(area names, themes, layer labels) goes through `esc`: folium's tooltips and Leaflet's layer control put text
into innerHTML, and folium renders each element a second time as a Jinja template.
"""

from __future__ import annotations

import html
import re
from datetime import date
from functools import lru_cache

from koban_geo.outputs.maplayers import CLASSES, EMERGING_CATEGORIES
from ui.i18n import translate

# Esri's hot spot renderer, -3 (cold, 99 %) .. +3 (hot, 99 %): a red-blue diverging scheme, colour-blind safe.
GI_COLOURS = {
    3: "#d62f27",
    2: "#ed7551",
    1: "#fab984",
    0: "#ffffbf",
    -1: "#c0ccbe",
    -2: "#849eba",
    -3: "#4575b5",
}
# Emerging patterns: reds for the hot family (darkest = newest / strongest), blues for the cold one.
EMERGING_COLOURS = dict(
    zip(
        EMERGING_CATEGORIES,
        ("#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a", "#fc9272", "#fcbba1", "#fee0d2",
         "#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1", "#c6dbef", "#deebf7"),
        strict=True,
    )
)  # fmt: skip
AREA_COLOURS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")  # ColorBrewer Purples, 5 classes
assert len(AREA_COLOURS) == CLASSES
DENSITY_GRADIENT = {0.2: "#c7e9c0", 0.5: "#74c476", 0.8: "#238b45", 1.0: "#00441b"}  # ColorBrewer Greens
HIDDEN_FILL = "url(#koban-hatch)"
HIDDEN_COLOUR = "#8c8c8c"
CLUSTER_COLOUR = "#e66101"
CRIME_COLOUR = "#5e3c99"
OPEN_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
STREET_COLOUR = "#7a7a7a"


def _(msgid: str, lang: str = "en") -> str:
    """Translate a UI string into `lang` (maps are built outside a session too; tools/i18n.py extracts `_`)."""
    return translate(msgid, lang)


def esc(value: object) -> str:
    """HTML-escape a value from data for a tooltip, a legend or a layer name.

    Braces become entities too: folium renders each element's output a second time as a Jinja template,
    so a "{{ ... }}" in an area name or a crime type would otherwise run on the server.
    """
    return _esc("" if value is None else str(value))


@lru_cache(maxsize=4096)
def _esc(text: str) -> str:
    return no_template(html.escape(text, quote=True))


def no_template(text: str) -> str:
    """Braces as HTML entities, for configured HTML (the tiles' attribution) that folium renders twice."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


def fill(colour: str, opacity: float, *, weight: float, line: str) -> dict[str, object]:
    """A Leaflet path style."""
    return {"fillColor": colour, "fillOpacity": opacity, "color": line, "weight": weight, "opacity": 0.9}


def number(value: object, lang: str) -> str:
    """A whole number with the language's digit grouping (1 234 / 1,234 / 1.234)."""
    if value is None:
        return "–"
    try:
        return f"{int(value):,}".replace(",", _group_symbol(lang))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)


@lru_cache(maxsize=16)
def _group_symbol(lang: str) -> str:
    try:
        from babel.numbers import get_group_symbol

        return str(get_group_symbol(locale=lang))
    except Exception:  # noqa: BLE001 - an unknown locale groups like English
        return ","


def day(value: date, lang: str) -> str:
    """A day as people write it in `lang` ("31 Oct 2026" in English)."""
    try:
        from babel.dates import format_date

        return str(format_date(value, "d MMM y", locale=lang))
    except Exception:  # noqa: BLE001 - an unknown locale writes the ISO date
        return value.isoformat()


def count_line(p: dict[str, object], k: int, lang: str) -> str:
    if p.get("count") is None:
        return esc(_("Fewer than {k} reports, or hidden to protect a small count", lang).format(k=k))
    return esc(_("Reports: {n}", lang).format(n=number(p["count"], lang)))


@lru_cache(maxsize=128)  # one per bin and language: thousands of cells share seven labels
def gi_label(gi_bin: int, lang: str) -> str:
    """The library's words for a Gi* bin (koban_geo.analysis.hotspots owns them), as a legend entry."""
    from koban_geo.analysis.hotspots import bin_label

    text = bin_label(gi_bin, lang)
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=256)
def emerging_label(code: str, lang: str) -> str:
    return {
        "new_hot": _("New hot spot", lang),
        "consecutive_hot": _("Consecutive hot spot", lang),
        "intensifying_hot": _("Intensifying hot spot", lang),
        "persistent_hot": _("Persistent hot spot", lang),
        "diminishing_hot": _("Diminishing hot spot", lang),
        "sporadic_hot": _("Sporadic hot spot", lang),
        "oscillating_hot": _("Oscillating hot spot", lang),
        "historical_hot": _("Historical hot spot", lang),
        "new_cold": _("New cold spot", lang),
        "consecutive_cold": _("Consecutive cold spot", lang),
        "intensifying_cold": _("Intensifying cold spot", lang),
        "persistent_cold": _("Persistent cold spot", lang),
        "diminishing_cold": _("Diminishing cold spot", lang),
        "sporadic_cold": _("Sporadic cold spot", lang),
        "oscillating_cold": _("Oscillating cold spot", lang),
        "historical_cold": _("Historical cold spot", lang),
    }.get(code, code)


def trend_label(trend: object, lang: str) -> str:
    return {"up": _("Getting worse", lang), "down": _("Fading", lang)}.get(str(trend), "")


def theme_label(code: str, lang: str) -> str:
    """A theme's label in `lang` (the taxonomy owns theme labels)."""
    from koban_geo.store.taxonomy import theme_label as taxonomy_theme_label

    return taxonomy_theme_label(code, lang)


_SHARE = re.compile(r"^\s*(\S+)\s+(\d+)\s*%\s*$")


def theme_shares(text: str, lang: str) -> str:
    """'noise 12 %, asb 11 %' with theme names in `lang` (unknown pieces are kept as they are)."""
    out = []
    for piece in text.split(","):
        match = _SHARE.match(piece)
        out.append(f"{theme_label(match.group(1), lang)} {match.group(2)} %" if match else piece.strip())
    return ", ".join(out)
