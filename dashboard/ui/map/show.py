"""Showing a folium map: in Streamlit through streamlit-folium, or as one self-contained HTML page.

No CDN: every element's script and stylesheet links (folium's public `default_js`/`default_css`, which
streamlit-folium reads to build the links its frame loads, randyzwitch/streamlit-folium#180) are pointed at
the copies the app serves (/app/static/vendor/, tools/vendor_assets.py; /app/static/koban/ for our own
map.js and map.css). streamlit-folium has no public way to change the d3 links it adds for a branca colour
map (hard-coded CDN URLs in `st_folium`; see randyzwitch/streamlit-folium#115 on generating the links from
the map), so a colour map is handed over wrapped in an element that links the vendored d3 instead.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from ui import assets
from ui.map.style import _, esc

if TYPE_CHECKING:
    import folium

    from ui.map.draw import MapLayers

log = logging.getLogger(__name__)

RETURNED_OBJECTS = ["last_object_clicked", "last_active_drawing"]  # nothing that changes on pan or zoom
_EXTERNAL = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)", re.IGNORECASE)
D3_LINKS = (
    ("d3_v4", "https://d3js.org/d3.v4.min.js"),
    ("d3", "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"),
)


def render(m: folium.Map, key: str, height: int = 600, layers: MapLayers | None = None) -> dict[str, Any] | None:  # fmt: skip
    """Show the map with streamlit-folium, its scripts and styles served locally; returns the last clicked
    object (or drawing), or None when the assets are missing (a message says to run `make assets`).

    With `layers` (ui.map.draw.map_layers) `m` is the base map and the layers go beside it: streamlit-folium
    names the map's frame by the base map's script, which a filter change leaves alone, so the frame stays
    (Leaflet, the basemap's tiles and the reader's view with it) and only the layer groups are swapped. A
    new frame per filter cost the browser 0.2-0.5 s on 1,000,000 concerns (bench/README.md, Dashboard)."""
    import streamlit as st

    from ui.i18n import current_lang

    if not assets.available():
        st.error(
            _(
                "The map cannot be drawn: its JavaScript and CSS files are missing on the server. "
                "Run `make assets` (or `python tools/vendor_assets.py`) and reload the page.",
                current_lang(),
            )
        )
        return None
    from streamlit_folium import st_folium

    from ui.map.elements import IconPath

    local_links(m)
    for group in layers.groups if layers is not None else ():
        local_links(group)
    base = assets.static_base()
    for child in m._children.values():
        if isinstance(child, IconPath):
            child.path = f"{base}/{assets.LEAFLET_IMAGES}"
            child.inline = None
    if layers is None:
        return st_folium(
            m, key=key, height=height, use_container_width=True, returned_objects=RETURNED_OBJECTS
        )
    return st_folium(m, key=key, height=height, use_container_width=True, returned_objects=RETURNED_OBJECTS,
                     feature_group_to_add=layers.groups, layer_control=layers.control)  # fmt: skip


def local_links(m: Any) -> None:
    """Point every script and stylesheet link of the map's (or a layer group's) elements at the app's own copies (instance
    attributes: the classes' CDN lists stay as they are for other maps). An external link that is not
    vendored is left out and logged. Branca colour maps are wrapped (see the module docstring)."""
    import branca.colormap
    from folium.elements import JSCSSMixin

    vendor, own = assets.static_base(), assets.own_base()
    if isinstance(m, JSCSSMixin):  # the map; a layer group has no links of its own
        m.default_js = _mapped(m.default_js, vendor, own)
        m.default_css = _mapped(m.default_css, vendor, own)
    for parent, name, element in list(_walk(m)):
        if isinstance(element, branca.colormap.ColorMap):
            wrapper = _LocalColorMap(element, vendor, own)
            wrapper._parent = parent
            parent._children[name] = wrapper
        elif isinstance(element, JSCSSMixin):
            element.default_js = _mapped(element.default_js, vendor, own)
            element.default_css = _mapped(element.default_css, vendor, own)


def _walk(element: Any) -> Any:
    for name, child in list(getattr(element, "_children", {}).items()):
        yield element, name, child
        yield from _walk(child)


def _mapped(links: list[tuple[str, str]], vendor: str, own: str) -> list[tuple[str, str]]:
    out = []
    for name, url in links:
        local, unknown = assets.map_links([url], vendor)
        for left in unknown:
            log.warning("map asset not vendored, left out (add it to tools/vendor_assets.py): %s", left)
        out += [(name, assets.own_url(u, own)) for u in local]
    return out


def _LocalColorMap(colormap: Any, vendor: str, own: str) -> Any:  # noqa: N802 - reads as the element it makes
    from folium.elements import JSCSSMixin

    class LocalColorMap(JSCSSMixin):
        """A branca colour map behind an element that links the vendored d3 (the colour map itself is kept
        out of `_children`, so streamlit-folium does not add its CDN d3 links)."""

        def __init__(self) -> None:
            super().__init__()
            self._name = "LocalColorMap"
            self.colormap = colormap
            self.default_js = _mapped(list(D3_LINKS), vendor, own)

        def render(self, **kwargs: Any) -> str:
            super().render(**kwargs)
            self.colormap._parent = self._parent
            self.colormap.render(**kwargs)
            return ""

    return LocalColorMap()


def standalone_html(m: folium.Map, title: str | None = None) -> str:
    """A complete HTML page of the map with every script, stylesheet, font and image inlined: it opens
    from a file with no server and no network. Raises AssetsMissing when `make assets` has not run."""
    from ui.map.elements import IconPath

    for child in m._children.values():
        if isinstance(child, IconPath):
            child.inline = assets.image_data_uris()
    root = m.get_root()
    if title is not None:
        root.title = esc(title)  # type: ignore[attr-defined]
    page = assets.inline_html(root.render())
    left = _EXTERNAL.findall(page)
    if left:
        raise ValueError(f"external scripts or stylesheets left in the page: {left[:3]}")
    return page
