"""The offline vector basemap on the dashboard's maps: a small folium element that calls
dashboard/static/basemap.js, which draws the app's own tiles (dashboard/web/tiles.py) with the vendored
protomaps-leaflet under the map's layers, street and place names above them.

Which base a map gets (koban_geo.basemap.active_basemap): a tile server set with KOBAN_TILES_URL wins; else
this basemap when the archive exists; else the store's streets layer as thin lines (ui/map.py). A stand-alone
map page (no server behind it) skips the basemap: its script is only there in the dashboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from koban_geo.basemap import active_basemap, open_archive
from koban_geo.store.settings import Settings

if TYPE_CHECKING:
    import folium

RENDERER_URL = "https://unpkg.com/protomaps-leaflet@5.1.0/dist/protomaps-leaflet.js"  # vendored (MANIFEST)
SCRIPT_URL = "/app/static/basemap.js"  # dashboard/static/basemap.js, Streamlit's static serving
TILES_URL = "/basemap/tiles/{z}/{x}/{y}.mvt"  # dashboard/web/tiles.py
ELEMENT_NAME = "koban_basemap"


def basemap_options(settings: Settings) -> dict[str, Any] | None:
    """What the page's script needs (tile URL with the archive's version, zoom levels, attribution), or
    None when the maps draw no vector basemap (a tile server is set, or no archive was built)."""
    path = active_basemap(settings)
    archive = open_archive(path) if path is not None else None
    if archive is None:
        return None
    return {
        "url": f"{TILES_URL}?v={archive.etag}",  # a rebuilt archive has a new etag: no stale cached tiles
        "minZoom": archive.minzoom,
        "maxDataZoom": archive.maxzoom,
        # HTML set by the operator; braces as entities, since folium renders element output as a template
        "attribution": settings.tiles_attribution.replace("{", "&#123;").replace("}", "&#125;"),
    }


def add_basemap(m: folium.Map, settings: Settings) -> bool:
    """Put the vector basemap under the map's layers when there is one; True when it was added."""
    options = basemap_options(settings)
    if options is None:
        return False
    m.add_child(_element_class()(options), name=ELEMENT_NAME)
    return True


_CACHED: dict[str, Any] = {}


def _element_class() -> Any:
    """The element class, made on first use (folium and jinja2 are imported only when a map is drawn)."""
    cls = _CACHED.get("element")
    if cls is None:
        from branca.element import MacroElement
        from folium.elements import JSCSSMixin
        from jinja2 import Template

        class VectorBasemap(JSCSSMixin, MacroElement):
            """Calls kobanBasemap(map, options) once the map exists; its two scripts are listed in
            default_js, which streamlit-folium loads for JSCSSMixin elements (the renderer through the
            vendored-asset map)."""

            _template = Template(
                """{% macro script(this, kwargs) %}
                if (window.kobanBasemap) { window.kobanBasemap({{ this._parent.get_name() }}, {{ this.options|tojson }}); }
                {% endmacro %}"""
            )
            default_js = [("protomaps_leaflet", RENDERER_URL), (ELEMENT_NAME, SCRIPT_URL)]

            def __init__(self, options: dict[str, Any]) -> None:
                super().__init__()
                self._name = "VectorBasemap"
                self.options = options

        cls = _CACHED.setdefault("element", VectorBasemap)
    return cls
