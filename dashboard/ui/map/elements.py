"""The custom folium elements of our maps: each writes data and a one-line call to the map's own script,
dashboard/static/koban/map.js (linked, like Leaflet, through folium's default_js/default_css, so
streamlit-folium loads it into the map's frame and a stand-alone page gets it inlined)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from ui import assets
from ui.map.shapes import ShapeParts, shape_parts

OWN_JS = [("koban_map_js", f"{assets.OWN_URL}/map.js")]
OWN_CSS = [("koban_map_css", f"{assets.OWN_URL}/map.css")]


class _Own(JSCSSMixin):
    """An element that needs map.js and map.css (links are added once per page, by name)."""

    default_js = OWN_JS
    default_css = OWN_CSS


class IconPath(MacroElement):
    """Point Leaflet's default marker images at the vendored ones (Leaflet 1.9 guesses wrongly before its
    CSS loads), or inline them for a file page."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {%- if this.inline %}
        L.Icon.Default.imagePath = "";
        L.Icon.Default.mergeOptions({{ this.inline|tojson }});
        {%- else %}
        L.Icon.Default.imagePath = {{ this.path|tojson }};
        {%- endif %}
        {% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "IconPath"
        self.path = f"{assets.STATIC_URL}/{assets.LEAFLET_IMAGES}"
        self.inline: dict[str, str] | None = None


class Setup(_Own):
    """Once per map: canvas or SVG, the hatching pattern, focus without a page scroll, the map filling its
    frame, and the projector's large type when asked."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        KobanMap.canvas = {{ this.canvas|tojson }};
        KobanMap.hatch();
        KobanMap.noFocusScroll({{ this._parent.get_name() }});
        KobanMap.fillFrame({{ this._parent.get_name() }});
        {%- if this.projector %}
        {{ this._parent.get_name() }}.getContainer().classList.add("koban-projector");
        {%- endif %}
        {% endmacro %}"""
    )

    def __init__(self, *, projector: bool = False, canvas: bool = False) -> None:
        super().__init__()
        self._name = "Setup"
        self.projector = projector
        self.canvas = canvas  # the map draws its shapes on one canvas (draw.CANVAS_FROM)


class Overlay(_Own):
    """What goes over the data layers: the collapsible legend (escaped HTML), the sentence of an empty result
    (plain text, never HTML), and the bounds the first view is fitted to, clear of the legend. It lives in a
    layer group of its own that comes before the data layers (draw.map_layers), so that streamlit-folium
    replaces it with them on a filter change while the map's frame stays (KobanMap.overlay)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        KobanMap.overlay({{ this.map_name() }}, {{ this.legend|tojson }}, {{ this.message|tojson }},
                         {{ this.bounds|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, legend_html: str | None, labels: dict[str, str], message: str | None,
                 bounds: tuple[float, float, float, float] | None) -> None:  # fmt: skip
        super().__init__()
        self._name = "Overlay"
        self.legend = {"html": legend_html, "labels": labels} if legend_html else None
        self.message = message
        self.bounds = None
        if bounds is not None:
            west, south, east, north = (float(v) for v in bounds)
            self.bounds = [[south, west], [north, east]]

    def map_name(self) -> str:
        """The map's variable: the element sits in a layer group on the map."""
        node: Any = self._parent
        while node is not None and node._name != "Map":
            node = getattr(node, "_parent", None)
        if node is None:
            raise ValueError("an Overlay must be on a map (in a layer group added to it)")
        return str(node.get_name())


class Raw(Element):
    """Text that goes into the page as it is (branca compiles an element's text as a Jinja template: for a
    few MB of GeoJSON that alone took a quarter of a second, twice per map)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class Shapes(_Own):
    """A GeoJSON layer of styled features with HTML tooltips ('tip', escaped by the callers), drawn by
    `KobanMap.shapes`. Geometries are written by GEOS (shapely.to_geojson, coordinates rounded to 6
    decimals, about 0.1 m), properties in one JSON array (<, >, & and ' as escapes, like Jinja's tojson),
    each distinct style once (a feature names it by number), and the script goes into the page without
    folium's second Jinja pass over it.

    Tooltips: each distinct line of the tips ('<br>'-separated) is sent once and a feature lists its lines by
    number ('t'); the layer has one tooltip whose text is put together for the feature under the pointer
    (on 4,000 cells about 80 ms of the browser's time less). `feature.properties.tip` still reads the text.

    The template is what streamlit-folium reads (it builds the frame's script from each element's `script`
    macro); `render` is folium's own page, without a second Jinja pass over megabytes of GeoJSON."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.call() }}{% endmacro %}")

    def __init__(self, geoms: Sequence[Any] | ShapeParts, props: Sequence[dict[str, Any]] = (), *,
                 interactive: bool = True, attribution: str | None = None) -> None:  # fmt: skip
        super().__init__()
        self._name = "Shapes"
        parts = geoms if isinstance(geoms, ShapeParts) else shape_parts(geoms, props, interactive=interactive,
                                                                        attribution=attribution)  # fmt: skip
        self.features = parts.features
        self.options, self.styles, self.properties = parts.options, parts.styles, parts.properties
        self.lines, self.geometries = parts.lines, parts.geometries

    def render(self, **kwargs: Any) -> str:
        from branca.element import CssLink, JavascriptLink

        root: Any = self.get_root()  # the root is a Figure
        for name, url in self.default_js:
            root.header.add_child(JavascriptLink(url), name=name)
        for name, url in self.default_css:
            root.header.add_child(CssLink(url), name=name)
        root.script.add_child(Raw(self.call()), name=self.get_name())
        return ""

    def call(self) -> str:
        """The layer's one line of script: its data and the call that draws it."""
        parent: Any = self._parent  # the layer's FeatureGroup
        return (
            f"var {self.get_name()} = KobanMap.shapes({parent.get_name()}, {self.options}, "
            f"{self.styles}, {self.geometries}, {self.properties}, {self.lines});"
        )
