"""The dashboard's maps: folium layers over the store's analysis, drawn from local assets only.

Data first, then drawing: `map_data` asks koban_geo for every layer (each already through the audience
gate) and returns plain, picklable values the dashboard caches per data version; `build_map` turns them into
a folium.Map in a few tens of milliseconds, so a rerun stays cheap. `officer_map` and `public_map` do both.

- Every string that comes from data (area names, themes, layer labels) is HTML-escaped here: folium's
  tooltips and Leaflet's layer control put text into innerHTML.
- No CDN: `render` maps every script and stylesheet streamlit-folium would fetch to /app/static/vendor/
  (tools/vendor_assets.py), and `standalone_html` inlines them, so maps draw on a closed network.
- Never more than MAX_MARKERS individual markers: recorded crime is aggregated per published point and
  drawn as a heat layer above that; open-data points are clustered in the browser (FastMarkerCluster).
- The base map draws no folium.Icon markers, so it does not load Bootstrap, Font Awesome or the
  awesome-markers plugin (fewer scripts before the map appears); add them back if you draw such icons.
"""

from __future__ import annotations

import html
import json
import logging
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import EllipsisType
from typing import TYPE_CHECKING, Any

import numpy as np

from koban_geo.analysis.grid import Filter
from koban_geo.basemap import active_basemap
from koban_geo.privacy.audience import Audience, Policy, PrivacyError
from koban_geo.store.settings import Settings
from ui import assets
from ui.basemap import add_basemap
from ui.i18n import translate

if TYPE_CHECKING:
    import duckdb
    import folium

log = logging.getLogger(__name__)

AREAS, GISTAR, EMERGING, DBSCAN, KDE, CRIME = "areas", "gistar", "emerging", "dbscan", "kde", "crime"
OPEN_PREFIX = "open:"  # "open:streetlights": an open-data point layer of the store
ANALYSIS_LAYERS: tuple[str, ...] = (AREAS, GISTAR, EMERGING, DBSCAN, KDE, CRIME)
AGGREGATE_LAYERS = frozenset({AREAS, GISTAR, EMERGING, DBSCAN})  # what public and council tiers may see
PUBLIC_LAYERS = frozenset({AREAS, GISTAR})
DEFAULT_LAYERS = frozenset({AREAS, GISTAR})
MAX_MARKERS = 2_000
MAX_ZOOM = 19
ZOOM_SNAP = 0.25
RETURNED_OBJECTS = ["last_object_clicked", "last_active_drawing"]  # nothing that changes on pan or zoom

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
EMERGING_COLOURS = {
    "new_hot": "#67000d", "consecutive_hot": "#a50f15", "intensifying_hot": "#cb181d",
    "persistent_hot": "#ef3b2c", "diminishing_hot": "#fb6a4a", "sporadic_hot": "#fc9272",
    "oscillating_hot": "#fcbba1", "historical_hot": "#fee0d2",
    "new_cold": "#08306b", "consecutive_cold": "#08519c", "intensifying_cold": "#2171b5",
    "persistent_cold": "#4292c6", "diminishing_cold": "#6baed6", "sporadic_cold": "#9ecae1",
    "oscillating_cold": "#c6dbef", "historical_cold": "#deebf7",
}  # fmt: skip
AREA_COLOURS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")  # ColorBrewer Purples, 5 classes
HIDDEN_FILL = "url(#koban-hatch)"
HIDDEN_COLOUR = "#8c8c8c"
CLUSTER_COLOUR = "#e66101"
CRIME_COLOUR = "#5e3c99"
OPEN_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
STREET_COLOUR = "#7a7a7a"

# Chrome outlines a clicked SVG path's bounding box (a black frame around a whole area): keep the outline for
# keyboard focus only.
_MAP_CSS = (
    "<style>.leaflet-container .leaflet-interactive:focus:not(:focus-visible) { outline: none; }</style>"
)
_TIP_JS = "function (feature, layer) { if (feature.properties.tip) { layer.bindTooltip(feature.properties.tip, {sticky: true}); } }"  # fmt: skip
_LEAN_JS = ("leaflet", "jquery")
_LEAN_CSS = ("leaflet_css",)


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
    return _no_template(html.escape(text, quote=True))


def _no_template(text: str) -> str:
    """Braces as HTML entities, for configured HTML (the tiles' attribution) that folium renders twice."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


# ---------------------------------------------------------------------------------------------------------
# Data: what every layer holds, fetched once per (data version, filter, audience, layers)
# ---------------------------------------------------------------------------------------------------------


@dataclass
class MapData:
    """Everything a map draws, already through the audience gate; plain values, so it can be cached."""

    audience: str
    k: int
    unit: str
    bounds: tuple[float, float, float, float] | None
    layers: dict[str, Any] = field(default_factory=dict)  # key -> rows / CrimeLocations / points
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    streets: Any = None  # shapely lines when the base map has no tiles


def allowed_layers(audience: Audience | str, open_layers: Iterable[str] = ()) -> list[str]:
    """The layer keys an audience may switch on, in display order."""
    if Audience(audience).aggregates_only:
        return [key for key in ANALYSIS_LAYERS if key in AGGREGATE_LAYERS]
    return [*ANALYSIS_LAYERS, *(OPEN_PREFIX + name for name in open_layers)]


def map_data(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    flt: Filter | None,
    audience: Audience | str,
    layers: Iterable[str],
    *,
    store_bounds: tuple[float, float, float, float] | None | EllipsisType = ...,
) -> MapData:
    """Fetch the layers (keys of `allowed_layers`) for one filter and audience tier.

    `store_bounds`: areas.bounds(con) when the caller has it already. The Gi* and emerging layers hold only
    the cells a map draws (significant / with a pattern), and the emerging slices end at the last complete
    month that holds data (meta["slices_end"]). Raises PrivacyError for a layer the tier may not see (points and density surfaces
    for public/council).
    """
    from koban_geo.analysis import areas
    from koban_geo.analysis.hotspots import hotspots

    policy = Policy.for_audience(audience, settings)
    flt = flt or Filter(unit=settings.count_unit)
    wanted = list(dict.fromkeys(layers))
    for key in wanted:
        if policy.audience.aggregates_only and key not in AGGREGATE_LAYERS:
            raise PrivacyError(f"the {key!r} layer is not for {policy.audience} maps")
        if key not in ANALYSIS_LAYERS and not key.startswith(OPEN_PREFIX):
            raise ValueError(f"unknown map layer {key!r}")
    bounds = areas.bounds(con) if isinstance(store_bounds, EllipsisType) else store_bounds
    data = MapData(audience=str(policy.audience), k=policy.k, unit=flt.unit, bounds=bounds)
    for key in wanted:
        if key == AREAS:
            data.layers[key], data.meta[key] = areas.area_counts(con, settings, flt, policy.audience)
        elif key in (GISTAR, EMERGING):
            # only the cells a map draws (the gate runs on every cell first); the emerging slices end at the
            # last complete month with data, not in an empty month running to today
            data.layers[key], data.meta[key] = hotspots(
                con, settings, method=key, flt=flt, audience=policy.audience, significant_only=True,  # type: ignore[arg-type]
                complete_slices=key == EMERGING,
            )  # fmt: skip
        elif key in (DBSCAN, KDE):
            data.layers[key], data.meta[key] = hotspots(con, settings, method=key, flt=flt, audience=policy.audience)  # type: ignore[arg-type]  # fmt: skip
        elif key == CRIME:
            data.layers[key] = areas.crime_locations(con, settings, flt, policy.audience)
        else:
            data.layers[key] = areas.layer_points(con, settings, key[len(OPEN_PREFIX) :], policy.audience)
    if flt.areas and data.layers.get(AREAS):
        data.bounds = _extent(g for g, _p in data.layers[AREAS]) or data.bounds  # open on the chosen areas
    if settings.tiles_url is None and active_basemap(settings) is None:
        data.streets = areas.streets(con)
    return data


def drawn_only(data: MapData) -> MapData:
    """`data` without the cells a map does not draw (Gi* cells that are not significant, cells with no
    emerging pattern): on 1,000,000 concerns 80 % of the Gi* rows, which Streamlit's cache would otherwise
    pickle on every store and unpickle on every rerun."""
    layers = dict(data.layers)
    if GISTAR in layers:
        layers[GISTAR] = [(g, p) for g, p in layers[GISTAR] if p.get("gi_bin")]
    if EMERGING in layers:
        layers[EMERGING] = [(g, p) for g, p in layers[EMERGING] if p.get("category") in EMERGING_COLOURS]
    return replace(data, layers=layers)


# ---------------------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------------------


def base_map(
    settings: Settings,
    bounds: tuple[float, float, float, float] | None,
    *,
    streets: Sequence[Any] | None = None,
    lang: str = "en",
) -> folium.Map:
    """An empty map over `bounds` (min_lon, min_lat, max_lon, max_lat) with the configured tiles, or, when
    settings.tiles_url is None, the streets drawn as thin grey lines so the map still reads."""
    import folium

    if bounds is None:
        centre, zoom = [20.0, 0.0], 2
    else:
        centre, zoom = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], 14
    m = folium.Map(
        location=centre, zoom_start=zoom, tiles=None, maxZoom=MAX_ZOOM, minZoom=3, control_scale=True,
        zoom_snap=ZOOM_SNAP,  # fit the study area closely, not at the next whole zoom level out
    )  # fmt: skip
    m.default_js = [(name, url) for name, url in folium.Map.default_js if name in _LEAN_JS]
    m.default_css = [(name, url) for name, url in folium.Map.default_css if name in _LEAN_CSS]
    m.add_child(_IconPath(), name="koban_icon_path")
    m.get_root().header.add_child(folium.Element(_MAP_CSS), name="koban_map_css")  # type: ignore[attr-defined]
    m.add_child(_Hatch(), name="koban_hatch")
    if settings.tiles_url:
        folium.TileLayer(
            tiles=settings.tiles_url,
            attr=_no_template(settings.tiles_attribution),
            name=esc(_("Base map", lang)),
            max_zoom=MAX_ZOOM,
            max_native_zoom=19,
            control=False,
        ).add_to(m)
    elif add_basemap(m, settings):  # the offline vector basemap (ui/basemap.py), else the streets
        pass
    elif streets is not None and len(streets):
        group = folium.FeatureGroup(name=esc(_("Streets", lang)), control=False)
        style = {"color": STREET_COLOUR, "weight": 1.2, "opacity": 0.9, "interactive": False}
        _Shapes(
            streets,
            [{"style": style}] * len(streets),
            interactive=False,
            attribution=_no_template(settings.tiles_attribution),  # the streets stand in for the base map
        ).add_to(group)
        group.add_to(m)
    if bounds is not None:
        fit = folium.FitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
        fit.options["animate"] = False  # a zoom animation would end after the script and undo a later fit
        m.add_child(fit, name="koban_first_fit")
    return m


def add_gistar(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en", *, k: int = 5, counts: bool = True) -> folium.FeatureGroup:  # fmt: skip
    """Gi* hot and cold cells (not-significant cells are left out), coloured by gi_bin.

    counts=False leaves the cells' counts out of the tooltips (public maps: next to the published area
    counts, a few cell counts could be subtracted from an area's total).
    """
    picked = [(g, p) for g, p in rows if p.get("gi_bin")]
    props = []
    for _geom, p in picked:
        colour = GI_COLOURS[int(p["gi_bin"])]
        lines = [f"<b>{esc(_gi_label(int(p['gi_bin']), lang))}</b>"]
        if counts:
            lines.append(_count_line(p, k, lang))
        if p.get("gi_z") is not None:
            lines.append(f"Gi* z = {float(p['gi_z']):.2f}")
        props.append({"style": _fill(colour, 0.7, weight=0.5, line=colour), "tip": "<br>".join(lines)})
    return _geojson_group(parent, _("Hot and cold spots (Gi*)", lang), picked, props)


def add_emerging(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en", *, k: int = 5, counts: bool = True) -> folium.FeatureGroup:  # fmt: skip
    """Emerging hot and cold spot cells, coloured by pattern (cells with no pattern, or hidden, are left out)."""
    picked = [(g, p) for g, p in rows if p.get("category") in EMERGING_COLOURS]
    props = []
    for _geom, p in picked:
        lines = [f"<b>{esc(_emerging_label(str(p['category']), lang))}</b>"]
        if counts:
            lines.append(_count_line(p, k, lang))
        trend = _trend_label(p.get("trend"), lang)
        if trend:
            lines.append(esc(trend))
        if p.get("small_numbers"):
            lines.append(esc(_("Few reports: treat with care", lang)))
        colour = EMERGING_COLOURS[str(p["category"])]
        props.append({"style": _fill(colour, 0.75, weight=0.5, line="#333333"), "tip": "<br>".join(lines)})
    return _geojson_group(parent, _("Emerging hot spots", lang), picked, props)


def add_clusters(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en") -> folium.FeatureGroup:  # fmt: skip
    """DBSCAN cluster outlines with their size, make-up and time span."""
    props = []
    for _geom, p in rows:
        title = _("Cluster {id}", lang).format(id=p.get("id"))  # outside the f-string: Babel extracts it
        lines = [
            f"<b>{esc(title)}</b>",
            esc(_("Reports: {n}", lang).format(n=_number(p.get("count"), lang))),
        ]
        if p.get("themes"):
            lines.append(
                esc(_("Themes: {themes}", lang).format(themes=_theme_shares(str(p["themes"]), lang)))
            )
        if p.get("first_reported") and p.get("last_reported"):
            span = _("From {first} to {last}", lang).format(
                first=str(p["first_reported"])[:10], last=str(p["last_reported"])[:10]
            )
            lines.append(esc(span))
        # An outline only: a filled cluster (often most of a dense centre) would take every click and tooltip
        # meant for the areas and cells under it.
        style = _fill(CLUSTER_COLOUR, 0.0, weight=2.5, line=CLUSTER_COLOUR) | {
            "dashArray": "6 4",
            "fill": False,
        }
        props.append({"style": style, "tip": "<br>".join(lines)})
    return _geojson_group(parent, _("Clusters (DBSCAN)", lang), rows, props)


def add_heat(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en") -> folium.FeatureGroup:  # fmt: skip
    """The KDE surface as a heat layer: one weighted point per heat cell (officers and analysts only)."""
    import folium
    from folium.plugins import HeatMap

    group = folium.FeatureGroup(name=esc(_("Density of reports (KDE)", lang)), show=True)
    if rows:
        density = np.array([float(p.get("density") or 0.0) for _g, p in rows])
        top = float(density.max()) or 1.0
        points = [[round(g.y, 6), round(g.x, 6), round(d / top, 4)] for (g, _p), d in zip(rows, density, strict=True) if d > 0]  # fmt: skip
        _heat(HeatMap, points, radius=22, blur=18, min_opacity=0.25, max_zoom=16).add_to(group)
    group.add_to(parent)
    return group


def add_areas(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en", *, k: int = 5) -> folium.FeatureGroup:  # fmt: skip
    """The area choropleth: counts in five classes; hidden areas hatched grey and labelled "fewer than k"."""
    breaks = class_breaks([p["count"] for _g, p in rows if p.get("count")])
    props = []
    for _geom, p in rows:
        lines = [f"<b>{esc(p.get('name') or p.get('area_code'))}</b>", _count_line(p, k, lang)]
        top = p.get("top_themes") or []
        if top:
            shares = ", ".join(f"{_theme_label(t['theme'], lang)} {_number(t['count'], lang)}" for t in top)
            lines.append(esc(_("Most reported: {themes}", lang).format(themes=shares)))
        if p.get("count") is None:
            style = _fill(HIDDEN_FILL, 0.8, weight=1, line=HIDDEN_COLOUR)
        elif not p["count"]:
            style = _fill("#ffffff", 0.15, weight=1, line="#555555")
        else:
            style = _fill(AREA_COLOURS[_class_of(p["count"], breaks)], 0.55, weight=1, line="#555555")
        props.append({"style": style, "tip": "<br>".join(lines)})
    return _geojson_group(parent, _("Reports per area", lang), rows, props, breaks=breaks)


def add_crime(parent: Any, crime: Any, lang: str = "en") -> folium.FeatureGroup:
    """Recorded crime per published point: sized circles up to MAX_MARKERS locations, a heat layer above."""
    import folium
    from folium.plugins import HeatMap

    name = _("Recorded crime", lang)
    group = folium.FeatureGroup(name=esc(name), show=True)
    n = len(crime)
    if n > MAX_MARKERS:
        weights = crime.count / max(1, int(crime.count.max()))
        points = np.column_stack([crime.lat, crime.lon, np.round(weights, 4)]).tolist()
        _heat(HeatMap, points, radius=18, blur=15, min_opacity=0.3, max_zoom=16,
              gradient={0.3: "#d8daeb", 0.6: "#998ec3", 1.0: "#542788"}).add_to(group)  # fmt: skip
    elif n:
        features = []
        for lon, lat, count, types in zip(crime.lon, crime.lat, crime.count, crime.crime_types, strict=True):
            heading = _("Recorded crime: {n}", lang).format(n=_number(int(count), lang))
            tip = [f"<b>{esc(heading)}</b>"]
            tip += [f"{esc(t)}: {_number(c, lang)}" for t, c in types]
            radius = 2 + 1.3 * math.sqrt(float(count))
            style = {"radius": round(min(radius, 16), 1), "color": "#ffffff", "weight": 1,
                     "fillColor": CRIME_COLOUR, "fillOpacity": 0.6}  # fmt: skip
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                             "properties": {"style": style, "tip": "<br>".join(tip)}})  # fmt: skip
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            marker=folium.CircleMarker(radius=5, fill=True),
            on_each_feature=_tip_js(),
        ).add_to(group)
    group.add_to(parent)
    return group


def add_points(parent: Any, name: str, points: tuple[Any, Any, list[str]], colour: str, lang: str = "en") -> folium.FeatureGroup:  # fmt: skip
    """An open-data point layer, clustered in the browser (one data array, not one marker object each)."""
    import folium
    from folium.plugins import FastMarkerCluster

    lon, lat, labels = points
    group = folium.FeatureGroup(name=esc(name), show=True)
    if len(labels):
        data = [[float(y), float(x), esc(label)] for x, y, label in zip(lon, lat, labels, strict=True)]
        FastMarkerCluster(data, callback=_point_callback(colour), disableClusteringAtZoom=18,
                          maxClusterRadius=50, chunkedLoading=True).add_to(group)  # fmt: skip
    group.add_to(parent)
    return group


def build_map(data: MapData, settings: Settings, lang: str = "en") -> folium.Map:
    """Draw a MapData: base map, one FeatureGroup per layer (in a fixed order), a legend and a layer control."""
    import folium

    m = base_map(settings, data.bounds, streets=data.streets, lang=lang)
    cell_counts = not Audience(data.audience).aggregates_only
    legend: list[str] = []
    layers = data.layers
    if AREAS in layers:
        group = add_areas(m, layers[AREAS], lang, k=data.k)
        counts = [p["count"] for _g, p in layers[AREAS] if p.get("count")]
        legend.append(_legend_areas(group.koban_breaks, min(counts, default=1), data.k, lang))  # type: ignore[attr-defined]
    if KDE in layers:
        add_heat(m, layers[KDE], lang)
        legend.append(_legend_heat(lang))
    if GISTAR in layers:
        add_gistar(m, layers[GISTAR], lang, k=data.k, counts=cell_counts)
        legend.append(_legend_gistar(lang))
    if EMERGING in layers:
        add_emerging(m, layers[EMERGING], lang, k=data.k, counts=cell_counts)
        found = {p.get("category") for _g, p in layers[EMERGING]}
        legend.append(
            _legend_emerging([c for c in EMERGING_COLOURS if c in found], lang, data.meta.get(EMERGING))
        )
    if DBSCAN in layers:
        add_clusters(m, layers[DBSCAN], lang)
        legend.append(_legend_swatches(_("Clusters (DBSCAN)", lang), [(CLUSTER_COLOUR, _("Cluster outline", lang))], outline=True))  # fmt: skip
    if CRIME in layers:
        add_crime(m, layers[CRIME], lang)
        legend.append(_legend_swatches(_("Recorded crime", lang), [(CRIME_COLOUR, _("More crime, larger circle", lang))]))  # fmt: skip
    opens = [key for key in layers if key.startswith(OPEN_PREFIX)]
    swatches = []
    for i, key in enumerate(opens):
        colour = OPEN_COLOURS[i % len(OPEN_COLOURS)]
        label = key[len(OPEN_PREFIX) :].replace("_", " ")
        add_points(m, label, layers[key], colour, lang)
        swatches.append((colour, label))
    if swatches:
        legend.append(_legend_swatches(_("Open data", lang), swatches))
    if legend:
        m.add_child(_Legend("".join(legend)), name="koban_legend")
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if data.bounds is not None:
        m.add_child(_FitClear(data.bounds), name="koban_fit")  # after the legend: it knows its size
        _draw_first(m, ["koban_legend", "koban_fit"], after="koban_hatch", drop="koban_first_fit")
    return m


def _draw_first(m: folium.Map, names: list[str], *, after: str, drop: str) -> None:
    """Move the named children of the map right after `after` (before the streets and the data layers) and
    leave out `drop`: the view is then set once, before anything is drawn. Every change of view redraws
    every SVG path (a quarter of a second for 4,000 cells)."""
    from collections import OrderedDict

    children = [(k, v) for k, v in m._children.items() if k != drop]
    moved = [(k, v) for k, v in children if k in names]
    rest = [(k, v) for k, v in children if k not in names]
    at = next((i + 1 for i, (k, _v) in enumerate(rest) if k == after), len(rest))
    m._children = OrderedDict(rest[:at] + moved + rest[at:])


def officer_map(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    flt: Filter | None,
    audience: Audience | str,
    layers: Iterable[str],
    lang: str = "en",
) -> folium.Map:
    """The officers' problem map: the chosen layers for the audience tier (points only for officers)."""
    return build_map(map_data(con, settings, flt, audience, layers), settings, lang)


def public_map(
    con: duckdb.DuckDBPyConnection, settings: Settings, flt: Filter | None, lang: str = "en"
) -> folium.Map:
    """The meeting screen's map: the public tier's area choropleth and Gi* cells only (no points, no text)."""
    return build_map(map_data(con, settings, flt, Audience.PUBLIC, PUBLIC_LAYERS), settings, lang)


# ---------------------------------------------------------------------------------------------------------
# Output: in Streamlit, or as one self-contained HTML page
# ---------------------------------------------------------------------------------------------------------


def render(m: folium.Map, key: str, height: int = 600) -> dict[str, Any] | None:
    """Show the map with streamlit-folium, its scripts and styles served locally; returns the last clicked
    object (or drawing), or None when the assets are missing (a message says to run `make assets`)."""
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

    _map_component_links()
    base = assets.static_base()
    for child in _icon_paths(m):
        child.path = f"{base}/{assets.LEAFLET_IMAGES}"
        child.inline = None
    return st_folium(m, key=key, height=height, use_container_width=True, returned_objects=RETURNED_OBJECTS)


def standalone_html(m: folium.Map, title: str | None = None) -> str:
    """A complete HTML page of the map with every script, stylesheet, font and image inlined: it opens
    from a file with no server and no network. Raises AssetsMissing when `make assets` has not run."""
    for child in _icon_paths(m):
        child.inline = assets.image_data_uris()
    root = m.get_root()
    if title is not None:
        root.title = esc(title)  # type: ignore[attr-defined]
    page = assets.inline_html(root.render())
    left = _EXTERNAL.findall(page)
    if left:
        raise ValueError(f"external scripts or stylesheets left in the page: {left[:3]}")
    return page


_EXTERNAL = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)", re.IGNORECASE)
_PATCH_LOCK = threading.Lock()


def _map_component_links() -> None:
    """Route the script and stylesheet URLs streamlit-folium hands its component (each element's
    default_js/default_css, plus the d3 links it adds for colour legends) to the vendored copies.
    Installed once per process; an external URL that is not vendored is left out and logged."""
    import streamlit_folium

    with _PATCH_LOCK:
        original = streamlit_folium._component_func
        if getattr(original, "koban_local_links", False):
            return

        def component(*args: Any, js_links: Sequence[str] = (), css_links: Sequence[str] = (), **kwargs: Any) -> Any:  # fmt: skip
            base = assets.static_base()
            js, js_unknown = assets.map_links(list(js_links), base)
            css, css_unknown = assets.map_links(list(css_links), base)
            for url in js_unknown + css_unknown:
                log.warning("map asset not vendored, left out (add it to tools/vendor_assets.py): %s", url)
            return original(*args, js_links=js, css_links=css, **kwargs)

        component.koban_local_links = True  # type: ignore[attr-defined]
        streamlit_folium._component_func = component


# ---------------------------------------------------------------------------------------------------------
# Cached versions for the dashboard's pages
# ---------------------------------------------------------------------------------------------------------


@dataclass
class BuiltMap:
    map: folium.Map
    note: str  # the precision note to show with the map
    meta: dict[str, dict[str, Any]]


_CACHED: dict[str, Any] = {}


def _cached_data_fn() -> Any:
    fn = _CACHED.get("data")
    if fn is None:
        import streamlit as st

        @st.cache_data(max_entries=4, show_spinner=False)
        def _bounds(version: str) -> tuple[float, float, float, float] | None:
            from koban_geo.analysis import areas
            from ui import store

            return areas.bounds(store.reader())

        @st.cache_data(max_entries=32, show_spinner=False)
        def _data(version: str, flt: Filter, audience: str, layers: tuple[str, ...]) -> MapData:
            from ui import store

            data = map_data(
                store.reader(), store.settings(), flt, audience, layers, store_bounds=_bounds(version)
            )
            return drawn_only(data)

        fn = _CACHED.setdefault("data", _data)
    return fn


def cached_officer_map(version: str, flt: Filter, audience: Audience | str, layers: Iterable[str], lang: str) -> BuiltMap:  # fmt: skip
    """officer_map with the layers' data cached per store data version (ui.store.data_version)."""
    from ui import store

    settings = store.settings()
    warming = _CACHED.get("warm")
    if warming is not None and warming.is_alive():
        # the first seconds after a start: wait for the warm-up rather than compute the same map twice at once
        warming.join(timeout=_WARM_WAIT_S)
    data = _cached_data_fn()(version, flt, str(Audience(audience)), tuple(sorted(layers)))
    note = Policy.for_audience(audience, settings).precision_note(lang)
    return BuiltMap(build_map(data, settings, lang), note, data.meta)


def cached_public_map(version: str, flt: Filter, lang: str) -> BuiltMap:
    """public_map with its data cached per store data version."""
    return cached_officer_map(version, flt, Audience.PUBLIC, PUBLIC_LAYERS, lang)


WARM_TIERS = (Audience.OFFICER, Audience.ANALYST, Audience.COUNCIL)  # the staff tiers' own default maps
_WARM_WAIT_S = 30.0  # a page waits at most this long for the warm-up before computing its map itself


def warm_default_maps() -> threading.Thread | None:
    """Compute the staff's default maps (last 12 months, every non-sensitive theme, areas and Gi* cells, for
    each staff tier) in a background thread, once per server process, into the same cache the pages read: the
    first officer after a start then waits for a cached map, not for the grid, the weights and a scan of the
    store (on 1,000,000 concerns about 2.5 s of a fresh server's first map). Returns the thread (None when
    it was started before). A failure is logged; the pages then compute the map as they would anyway."""
    with _PATCH_LOCK:
        if "warm" in _CACHED:
            return None
        thread = threading.Thread(target=_warm, name="koban-warm-maps", daemon=True)
        _CACHED["warm"] = thread
    thread.start()
    return thread


def _warm() -> None:
    from datetime import date

    from ui import store
    from ui.filters import window

    try:
        settings = store.settings()
        since, until = window("12m", date.today())
        flt = Filter(since=since, until=until, unit=settings.count_unit)
        version = store.data_version()
        for tier in WARM_TIERS:
            _cached_data_fn()(version, flt, str(tier), tuple(sorted(DEFAULT_LAYERS)))
    except Exception:  # noqa: BLE001 - a warm-up must never take the server down
        log.exception("warming the default maps failed; pages will compute them on demand")


def layer_picker(audience: Audience | str, key: str = "map-layers") -> set[str]:
    """A multiselect of the layers this audience may see (default: areas and Gi* cells)."""
    import streamlit as st

    from koban_geo.analysis.areas import layer_names
    from ui import store
    from ui.i18n import current_lang

    lang = current_lang()
    opens = [name for name, _n, points in layer_names(store.reader()) if points]
    options = allowed_layers(audience, opens)
    chosen = st.multiselect(
        _("Layers", lang),
        options,
        default=[o for o in options if o in DEFAULT_LAYERS],
        format_func=lambda o: layer_label(o, lang),
        key=key,
    )
    return set(chosen)


def layer_label(key: str, lang: str = "en") -> str:
    """The name of a layer key in the picker."""
    if key.startswith(OPEN_PREFIX):
        return _("Open data: {layer}", lang).format(layer=key[len(OPEN_PREFIX) :].replace("_", " "))
    return {
        AREAS: _("Reports per area", lang),
        GISTAR: _("Hot and cold spots (Gi*)", lang),
        EMERGING: _("Emerging hot spots", lang),
        DBSCAN: _("Clusters (DBSCAN)", lang),
        KDE: _("Density of reports (KDE)", lang),
        CRIME: _("Recorded crime", lang),
    }[key]


# ---------------------------------------------------------------------------------------------------------
# Helpers: GeoJSON, styles, labels, legend, custom elements
# ---------------------------------------------------------------------------------------------------------


def _extent(geoms: Iterable[Any]) -> tuple[float, float, float, float] | None:
    """(min_lon, min_lat, max_lon, max_lat) of shapely geometries, None when there are none."""
    boxes = [g.bounds for g in geoms if g is not None and not g.is_empty]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _geojson_group(
    parent: Any,
    name: str,
    rows: Sequence[tuple[Any, dict[str, Any]]],
    props: list[dict[str, Any]],
    *,
    breaks: list[int] | None = None,
) -> folium.FeatureGroup:
    import folium

    group = folium.FeatureGroup(name=esc(name), show=True)
    group.koban_breaks = breaks or []  # type: ignore[attr-defined]
    if rows:
        _Shapes([g for g, _p in rows], props).add_to(group)
    group.add_to(parent)
    return group


def _heat(kind: Any, points: list[list[float]], **options: Any) -> Any:
    """A HeatMap of [lat, lon, weight] rows made here (finite floats): folium's per-point check is skipped."""
    layer = kind([], **options)
    layer.data = points
    return layer


def _tip_js() -> Any:
    from folium.utilities import JsCode

    return JsCode(_TIP_JS)


def _point_callback(colour: str) -> str:
    icon = (
        f'<div style="width:10px;height:10px;border-radius:50%;background:{colour};'
        'border:1.5px solid #ffffff;box-shadow:0 0 1px #333333"></div>'
    )
    return (
        "function (row) { var m = L.marker(new L.LatLng(row[0], row[1]), {icon: L.divIcon("
        f"{{className: 'koban-dot', html: '{icon}', iconSize: [12, 12]}})}});"
        " if (row[2]) { m.bindTooltip(row[2]); } return m; }"
    )


def _fill(fill: str, opacity: float, *, weight: float, line: str) -> dict[str, Any]:
    return {"fillColor": fill, "fillOpacity": opacity, "color": line, "weight": weight, "opacity": 0.9}


def class_breaks(counts: Sequence[int], classes: int = len(AREA_COLOURS)) -> list[int]:
    """Upper bounds of up to `classes` classes of positive counts (quantiles, rounded up to integers)."""
    values = np.asarray([c for c in counts if c], dtype=float)
    if values.size == 0:
        return []
    qs = np.quantile(values, np.linspace(0, 1, classes + 1)[1:])
    return sorted({int(math.ceil(q)) for q in qs})


def _class_of(count: int, breaks: list[int]) -> int:
    for i, upper in enumerate(breaks):
        if count <= upper:
            return min(i, len(AREA_COLOURS) - 1)
    return len(AREA_COLOURS) - 1


def _number(value: object, lang: str) -> str:
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


def _count_line(p: dict[str, Any], k: int, lang: str) -> str:
    if p.get("count") is None:
        return esc(_("Fewer than {k} reports, or hidden to protect a small count", lang).format(k=k))
    return esc(_("Reports: {n}", lang).format(n=_number(p["count"], lang)))


@lru_cache(maxsize=128)  # one per bin and language: thousands of cells share seven labels
def _gi_label(gi_bin: int, lang: str) -> str:
    return {
        3: _("Hot spot, 99 % confidence", lang),
        2: _("Hot spot, 95 % confidence", lang),
        1: _("Hot spot, 90 % confidence", lang),
        0: _("Not significant", lang),
        -1: _("Cold spot, 90 % confidence", lang),
        -2: _("Cold spot, 95 % confidence", lang),
        -3: _("Cold spot, 99 % confidence", lang),
    }[gi_bin]


@lru_cache(maxsize=256)
def _emerging_label(code: str, lang: str) -> str:
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


def _trend_label(trend: object, lang: str) -> str:
    return {"up": _("Getting worse", lang), "down": _("Fading", lang)}.get(str(trend), "")


def _theme_label(code: str, lang: str) -> str:
    from koban_geo.store.taxonomy import themes

    for theme in themes():
        if theme.code == code:
            return theme.labels.get(lang) or theme.labels["en"]
    return code


_SHARE = re.compile(r"^\s*(\S+)\s+(\d+)\s*%\s*$")


def _theme_shares(text: str, lang: str) -> str:
    """'noise 12 %, asb 11 %' with theme names in `lang` (unknown pieces are kept as they are)."""
    out = []
    for piece in text.split(","):
        match = _SHARE.match(piece)
        out.append(f"{_theme_label(match.group(1), lang)} {match.group(2)} %" if match else piece.strip())
    return ", ".join(out)


def _swatch(colour: str, *, outline: bool = False, hatch: bool = False) -> str:
    if hatch:
        fill = "background:repeating-linear-gradient(45deg,#8c8c8c 0 2px,#e6e6e6 2px 5px);"
    elif outline:
        fill = f"background:transparent;border:2px dashed {colour};"
    else:
        fill = f"background:{colour};"
    return f'<i style="display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:middle;border:1px solid #777;{fill}"></i>'  # fmt: skip


def _legend_swatches(title: str, items: Sequence[tuple[str, str]], *, outline: bool = False) -> str:
    rows = "".join(f"<div>{_swatch(c, outline=outline)}{esc(label)}</div>" for c, label in items)
    return f"<div style='margin-bottom:6px'><b>{esc(title)}</b>{rows}</div>"


def _legend_gistar(lang: str) -> str:
    items = [(GI_COLOURS[b], _gi_label(b, lang)) for b in (3, 2, 1, -1, -2, -3)]
    return _legend_swatches(_("Hot and cold spots (Gi*)", lang), items)


def _legend_emerging(codes: Sequence[str], lang: str, meta: dict[str, Any] | None = None) -> str:
    if not codes:
        box = _legend_swatches(_("Emerging hot spots", lang), [("#ffffff", _("No pattern found", lang))])
    else:
        box = _legend_swatches(_("Emerging hot spots", lang), [(EMERGING_COLOURS[c], _emerging_label(c, lang)) for c in codes])  # fmt: skip
    span = _slices_span(meta or {})
    if span:
        first, last = span
        # the months the pattern covers, ending at the last complete month with data (a sentence saying so
        # needs its translations first: dashboard/locales is not part of this change)
        note = f"{_('Month', lang)}: {first} – {last}"
        box = box[: -len("</div>")] + f"<div style='font-size:11px;color:#444'>{esc(note)}</div></div>"
    return box


def _slices_span(meta: dict[str, Any]) -> tuple[str, str] | None:
    """(first, last) month of the emerging slices ('2025-11', '2026-10') when they were cut back to the last
    complete period with data (meta["slices_end"]), else None."""
    slices = meta.get("slices") or []
    if not meta.get("slices_end") or not slices or meta.get("freq", "month") != "month":
        return None
    return str(slices[0])[:7], str(slices[-1])[:7]


def _legend_areas(breaks: list[int], low: int, k: int, lang: str) -> str:
    items = []
    for i, upper in enumerate(breaks):
        label = f"{_number(low, lang)}–{_number(upper, lang)}" if upper > low else _number(upper, lang)
        items.append(f"<div>{_swatch(AREA_COLOURS[min(i, len(AREA_COLOURS) - 1)])}{esc(label)}</div>")
        low = upper + 1
    none = _("No reports", lang)
    items.append(f"<div>{_swatch('#ffffff')}{esc(none)}</div>")
    hidden = _("Hidden: fewer than {k}, or protecting one", lang).format(k=k)
    items.append(f"<div>{_swatch('', hatch=True)}{esc(hidden)}</div>")
    return f"<div style='margin-bottom:6px'><b>{esc(_('Reports per area', lang))}</b>{''.join(items)}</div>"


def _legend_heat(lang: str) -> str:
    bar = "background:linear-gradient(90deg,blue,cyan,lime,yellow,red);"
    scale = _("low to high", lang)
    return (
        f"<div style='margin-bottom:6px'><b>{esc(_('Density of reports (KDE)', lang))}</b>"
        f"<div><i style='display:inline-block;width:90px;height:10px;vertical-align:middle;{bar}'></i> "
        f"{esc(scale)}</div></div>"
    )


def _element_classes() -> tuple[type, type, type, type, type]:
    """The custom folium elements (defined on first use: folium is imported only when a map is drawn)."""
    cached = _CACHED.get("elements")
    if cached is not None:
        return cached
    from branca.element import Element, MacroElement
    from folium.template import Template

    class IconPath(MacroElement):
        """Point Leaflet's default marker images at the vendored ones (Leaflet 1.9 guesses wrongly
        before its CSS loads), or inline them for a file page."""

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

    class Hatch(MacroElement):
        """The diagonal hatching that hidden (k-suppressed) areas are filled with, as an SVG pattern."""

        _template = Template(
            """{% macro script(this, kwargs) %}
            (function () {
                if (document.getElementById("koban-hatch")) { return; }
                var ns = "http://www.w3.org/2000/svg";
                var svg = document.createElementNS(ns, "svg");
                svg.setAttribute("width", "0"); svg.setAttribute("height", "0");
                svg.setAttribute("style", "position:absolute");
                svg.innerHTML = '<defs><pattern id="koban-hatch" width="8" height="8" ' +
                    'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
                    '<rect width="8" height="8" fill="#e6e6e6"/>' +
                    '<line x1="0" y1="0" x2="0" y2="8" stroke="#8c8c8c" stroke-width="3"/></pattern></defs>';
                document.body.appendChild(svg);
            })();
            {% endmacro %}"""
        )

        def __init__(self) -> None:
            super().__init__()
            self._name = "Hatch"

    class Legend(MacroElement):
        """A legend box (bottom right) built from escaped HTML."""

        _template = Template(
            """{% macro script(this, kwargs) %}
            (function () {
                var legend = L.control({position: "bottomright"});
                legend.onAdd = function () {
                    var div = L.DomUtil.create("div", "koban-legend");
                    div.setAttribute("style", "background:rgba(255,255,255,0.92);padding:6px 8px;" +
                        "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px/1.4 sans-serif;" +
                        "color:#111;max-height:45vh;overflow:auto;display:inline-block");  // sized before leaflet.css loads
                    div.innerHTML = {{ this.html|tojson }};
                    return div;
                };
                legend.addTo({{ this._parent.get_name() }});
            })();
            {% endmacro %}"""
        )

        def __init__(self, html_text: str) -> None:
            super().__init__()
            self._name = "Legend"
            self.html = html_text

    class FitClear(MacroElement):
        """Fit the map to its bounds at a fractional zoom (ZOOM_SNAP), keeping the data clear of the legend
        (bottom right) where the map is wide enough to spare the room. It needs the legend drawn, and comes
        before the streets and the data layers (build_map / _draw_first), so the view is set only once."""

        _template = Template(
            """{% macro script(this, kwargs) %}
            (function () {
                var map = {{ this._parent.get_name() }};
                var size = map.getSize();
                var legend = map.getContainer().querySelector(".koban-legend");
                var right = 10;
                if (legend && legend.offsetWidth + 20 < 0.45 * size.x) { right = legend.offsetWidth + 20; }
                map.fitBounds({{ this.bounds|tojson }}, {paddingTopLeft: [10, 10], paddingBottomRight: [right, 10],
                                                         animate: false});
            })();
            {% endmacro %}"""
        )

        def __init__(self, bounds: Sequence[Sequence[float]]) -> None:
            super().__init__()
            self._name = "FitClear"
            self.bounds = [[float(v) for v in corner] for corner in bounds]

    class Raw(Element):
        """Text that goes into the page as it is (branca compiles an element's text as a Jinja template:
        for a few MB of GeoJSON that alone took a quarter of a second, twice per map)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

        def render(self, **kwargs: Any) -> str:
            return self.text

    class Shapes(MacroElement):
        """A GeoJSON layer of styled features with HTML tooltips ('tip', escaped by the callers): what
        folium.GeoJson drew here before, leaner for thousands of cells. Geometries are written by GEOS
        (shapely.to_geojson, coordinates rounded to 6 decimals, about 0.1 m), properties in one JSON array
        (<, >, & and ' as escapes, like Jinja's tojson), each distinct style once (a feature names it by
        number), and the script goes into the page without folium's second Jinja pass over it.

        Tooltips: each distinct line of the tips ('<br>'-separated) is sent once and a feature lists its
        lines by number ('t'); the layer has one tooltip whose text is put together for the feature under
        the pointer, instead of one tooltip object per feature (on 4,000 cells about 80 ms of the browser's
        time and a quarter of the message). `feature.properties.tip` still reads the whole text."""

        _template = Template(
            """{% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.geoJson(null, {
                interactive: {{ this.interactive|tojson }},
                {%- if this.attribution %}
                attribution: {{ this.attribution|tojson }},
                {%- endif %}
                style: (function (styles) {
                    return function (feature) { return styles[feature.properties.s]; };
                })({{ this.styles }})
            });
            (function (layer, geometries, properties, lines) {
                function tip(p) { return p.t ? p.t.map(function (j) { return lines[j]; }).join("<br>") : ""; }
                layer.addData({type: "FeatureCollection", features: geometries.map(function (g, i) {
                    var p = properties[i];
                    Object.defineProperty(p, "tip", {get: function () { return tip(p); }});
                    return {type: "Feature", geometry: g, properties: p};
                })});
                if (lines.length) {
                    layer.bindTooltip(function (hovered) { return tip(hovered.feature.properties); }, {sticky: true});
                }
            })({{ this.get_name() }}, {{ this.geometries }}, {{ this.properties }}, {{ this.lines }});
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
            {% endmacro %}"""
        )

        def __init__(self, geoms: Sequence[Any], props: Sequence[dict[str, Any]], *, interactive: bool = True,
                     attribution: str | None = None) -> None:  # fmt: skip
            import shapely
            from jinja2.utils import htmlsafe_json_dumps

            super().__init__()
            self._name = "Shapes"
            self.interactive = interactive
            self.attribution = attribution
            styles: dict[Any, int] = {}
            table: list[Any] = []
            lines: dict[str, int] = {}
            rows = []
            for given in props:
                row = dict(given)
                style = row.pop("style", {})
                try:  # a few distinct styles for thousands of features: a tuple key is cheaper than JSON
                    key: Any = tuple(sorted(style.items()))
                    hash(key)
                except TypeError:  # a list or a dict as a value
                    key = json.dumps(style, sort_keys=True)
                if key not in styles:
                    styles[key] = len(table)
                    table.append(style)
                row["s"] = styles[key]
                tip = row.pop("tip", None)
                if tip:
                    row["t"] = [lines.setdefault(line, len(lines)) for line in str(tip).split("<br>")]
                rows.append(row)
            if lines and not all("t" in row for row in rows):
                raise ValueError("a layer's features have tooltips all or none (one tooltip per layer)")
            self.features = len(rows)
            self.styles = str(htmlsafe_json_dumps(table))
            self.properties = str(htmlsafe_json_dumps(rows))
            self.lines = str(htmlsafe_json_dumps(list(lines)))
            if len(geoms) != len(rows):
                raise ValueError("one set of properties per geometry")
            if not len(geoms):
                self.geometries = "[]"
                return
            rounded = shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.round(xy, 6))
            # GEOS writes no spaces; written as json.dumps would ('"type": "Polygon"'), for readers of the page
            texts = (
                t.replace('{"type":"', '{"type": "').replace('","coordinates":', '", "coordinates": ')
                for t in shapely.to_geojson(rounded)
            )
            self.geometries = "[" + ", ".join(texts) + "]"

        def render(self, **kwargs: Any) -> str:
            script: Any = self.get_root().script  # type: ignore[attr-defined]  # the root is a Figure
            script.add_child(Raw(self._template.module.script(self, kwargs)), name=self.get_name())
            return ""

    result = (IconPath, Hatch, Legend, FitClear, Shapes)
    _CACHED["elements"] = result
    return result


def _icon_paths(m: folium.Map) -> list[Any]:
    kind = _element_classes()[0]
    return [child for child in m._children.values() if isinstance(child, kind)]


def _IconPath() -> Any:  # noqa: N802 - reads as the element it makes
    return _element_classes()[0]()


def _Hatch() -> Any:  # noqa: N802
    return _element_classes()[1]()


def _Legend(html_text: str) -> Any:  # noqa: N802
    return _element_classes()[2](html_text)


def _FitClear(bounds: tuple[float, float, float, float]) -> Any:  # noqa: N802
    west, south, east, north = bounds
    return _element_classes()[3]([[south, west], [north, east]])


def _Shapes(geoms: Sequence[Any], props: Sequence[dict[str, Any]], *, interactive: bool = True,
            attribution: str | None = None) -> Any:  # noqa: N802  # fmt: skip
    return _element_classes()[4](geoms, props, interactive=interactive, attribution=attribution)
