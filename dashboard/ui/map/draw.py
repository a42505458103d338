"""Drawing a `MapData` (koban_geo.outputs.maplayers) as a folium.Map: the base layer, one FeatureGroup per
layer in a fixed order, the legend, the layer control, and a sentence when the filter holds no report.

Nothing here decides what a tier may see: the data arrives through the audience gate. folium is imported only
when a map is drawn. The base map draws no folium.Icon markers, so it does not load Bootstrap, Font Awesome
or the awesome-markers plugin (fewer scripts before the map appears); add them back if you draw such icons.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from koban_geo.analysis.grid import Filter
from koban_geo.basemap import active_basemap
from koban_geo.outputs import maplayers
from koban_geo.outputs.classes import class_breaks, class_of
from koban_geo.outputs.maplayers import (
    AREAS,
    CRIME,
    DBSCAN,
    EMERGING,
    GISTAR,
    KDE,
    MAX_MARKERS,
    OPEN_PREFIX,
    PUBLIC_LAYERS,
    MapData,
)
from koban_geo.privacy.audience import Audience
from koban_geo.store.settings import Settings
from ui.map import legend as legends
from ui.map.shapes import ShapeParts, shape_parts
from ui.map.style import (
    AREA_COLOURS,
    CLUSTER_COLOUR,
    CRIME_COLOUR,
    DENSITY_GRADIENT,
    EMERGING_COLOURS,
    GI_COLOURS,
    HIDDEN_COLOUR,
    HIDDEN_FILL,
    OPEN_COLOURS,
    STREET_COLOUR,
    _,
    count_line,
    day,
    emerging_label,
    esc,
    fill,
    gi_label,
    no_template,
    number,
    theme_label,
    theme_shares,
    trend_label,
)

if TYPE_CHECKING:
    import duckdb
    import folium

MAX_ZOOM = 19
# A map of more shapes than this draws them all on one canvas (Leaflet's preferCanvas), not as an SVG path
# each: no DOM element per feature (the 1,000,000-concern bench store's default map has ~5,000 Gi* cells).
# Canvas features still take clicks and show their tooltips, in drawing order across layers (so all layers
# share the one canvas: an SVG layer over a canvas would take every pointer event). Smaller maps stay SVG.
CANVAS_FROM = 1000
ZOOM_SNAP = 0.25
_LEAN_JS = ("leaflet", "jquery")
_LEAN_CSS = ("leaflet_css",)


def base_map(
    settings: Settings,
    bounds: tuple[float, float, float, float] | None,
    *,
    streets: Sequence[Any] | None = None,
    lang: str = "en",
    projector: bool = False,
    canvas: bool = False,
) -> folium.Map:
    """An empty map over `bounds` (min_lon, min_lat, max_lon, max_lat) with its base layer (add_base_layer).
    `canvas`: draw its vector shapes on one canvas instead of SVG (for maps of many shapes, CANVAS_FROM)."""
    import folium

    from ui.map.elements import IconPath, Setup

    if bounds is None:
        centre, zoom = [20.0, 0.0], 2
    else:
        centre, zoom = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], 14
    m = folium.Map(
        location=centre, zoom_start=zoom, tiles=None, maxZoom=MAX_ZOOM, minZoom=3, control_scale=True,
        zoom_snap=ZOOM_SNAP,  # fit the study area closely, not at the next whole zoom level out
        prefer_canvas=canvas,
    )  # fmt: skip
    m.default_js = [(name, url) for name, url in folium.Map.default_js if name in _LEAN_JS]
    m.default_css = [(name, url) for name, url in folium.Map.default_css if name in _LEAN_CSS]
    m.add_child(IconPath(), name="koban_icon_path")
    m.add_child(Setup(projector=projector, canvas=canvas), name="koban_hatch")
    add_base_layer(m, settings, streets=streets, lang=lang)
    if bounds is not None:
        fit = folium.FitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
        fit.options["animate"] = False  # a zoom animation would end after the script and undo a later fit
        m.add_child(fit, name="koban_first_fit")
    return m


def add_base_layer(
    m: folium.Map, settings: Settings, *, streets: Sequence[Any] | None = None, lang: str = "en"
) -> None:
    """THE place where a map gets its base layer: the configured raster tiles (KOBAN_TILES_URL), else the
    offline vector basemap (ui/basemap.py) when it is built, else the store's streets as thin grey lines so
    the map still reads."""
    import folium

    from ui.basemap import add_basemap
    from ui.map.elements import Shapes

    if settings.tiles_url:
        folium.TileLayer(
            tiles=settings.tiles_url,
            attr=no_template(settings.tiles_attribution),
            name=esc(_("Base map", lang)),
            max_zoom=MAX_ZOOM,
            max_native_zoom=19,
            control=False,
        ).add_to(m)
    elif add_basemap(m, settings):  # the offline vector basemap, else the streets
        pass
    elif streets is not None and len(streets):
        group = folium.FeatureGroup(name=esc(_("Streets", lang)), control=False)
        style = {"color": STREET_COLOUR, "weight": 1.2, "opacity": 0.9, "interactive": False}
        Shapes(
            streets,
            [{"style": style}] * len(streets),
            interactive=False,
            attribution=no_template(settings.tiles_attribution),  # the streets stand in for the base map
        ).add_to(group)
        group.add_to(m)


def add_gistar(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en", *, k: int = 5, counts: bool = True) -> folium.FeatureGroup:  # fmt: skip
    """Gi* hot and cold cells (not-significant cells are left out), coloured by gi_bin.

    counts=False leaves the cells' counts out of the tooltips (public maps: next to the published area
    counts, a few cell counts could be subtracted from an area's total).
    """

    def make() -> tuple[ShapeParts, list[int]]:
        picked = [(g, p) for g, p in rows if p.get("gi_bin")]
        props = []
        for _geom, p in picked:
            colour = GI_COLOURS[int(p["gi_bin"])]
            lines = [f"<b>{esc(gi_label(int(p['gi_bin']), lang))}</b>"]
            if counts:
                lines.append(count_line(p, k, lang))
            if p.get("gi_z") is not None:
                lines.append(f"Gi* z = {float(p['gi_z']):.2f}")
            props.append({"style": fill(colour, 0.7, weight=0.5, line=colour), "tip": "<br>".join(lines)})
        return shape_parts([g for g, _p in picked], props), []

    parts, _b = prepared(GISTAR, rows, (lang, k, counts), make)
    return geojson_group(parent, _("Hot and cold spots (Gi*)", lang), parts)


def add_emerging(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en", *, k: int = 5, counts: bool = True) -> folium.FeatureGroup:  # fmt: skip
    """Emerging hot and cold spot cells, coloured by pattern (cells with no pattern, or hidden, are left out)."""

    def make() -> tuple[ShapeParts, list[int]]:
        picked = [(g, p) for g, p in rows if p.get("category") in EMERGING_COLOURS]
        props = []
        for _geom, p in picked:
            lines = [f"<b>{esc(emerging_label(str(p['category']), lang))}</b>"]
            if counts:
                lines.append(count_line(p, k, lang))
            trend = trend_label(p.get("trend"), lang)
            if trend:
                lines.append(esc(trend))
            if p.get("small_numbers"):
                lines.append(esc(_("Few reports: treat with care", lang)))
            colour = EMERGING_COLOURS[str(p["category"])]
            props.append({"style": fill(colour, 0.75, weight=0.5, line="#333333"), "tip": "<br>".join(lines)})
        return shape_parts([g for g, _p in picked], props), []

    parts, _b = prepared(EMERGING, rows, (lang, k, counts), make)
    return geojson_group(parent, _("Emerging hot spots", lang), parts)


def add_clusters(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en") -> folium.FeatureGroup:  # fmt: skip
    """DBSCAN cluster outlines with their size, make-up and time span."""
    props = []
    for _geom, p in rows:
        title = _("Cluster {id}", lang).format(id=p.get("id"))  # outside the f-string: Babel extracts it
        lines = [
            f"<b>{esc(title)}</b>",
            esc(_("Reports: {n}", lang).format(n=number(p.get("count"), lang))),
        ]
        if p.get("themes"):
            lines.append(esc(_("Themes: {themes}", lang).format(themes=theme_shares(str(p["themes"]), lang))))
        if p.get("first_reported") and p.get("last_reported"):
            span = _("From {first} to {last}", lang).format(
                first=str(p["first_reported"])[:10], last=str(p["last_reported"])[:10]
            )
            lines.append(esc(span))
        # An outline only: a filled cluster (often most of a dense centre) would take every click and tooltip
        # meant for the areas and cells under it.
        style = fill(CLUSTER_COLOUR, 0.0, weight=2.5, line=CLUSTER_COLOUR) | {
            "dashArray": "6 4",
            "fill": False,
        }
        props.append({"style": style, "tip": "<br>".join(lines)})
    return geojson_group(parent, _("Clusters (DBSCAN)", lang), shape_parts([g for g, _p in rows], props))


def add_heat(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en") -> folium.FeatureGroup:  # fmt: skip
    """The KDE surface as a single-hue heat layer under the cells: one weighted point per heat cell
    (officers and analysts only)."""
    import folium
    from folium.plugins import HeatMap

    group = folium.FeatureGroup(name=esc(_("Density of reports (KDE)", lang)), show=True)
    if rows:
        density = np.array([float(p.get("density") or 0.0) for _g, p in rows])
        top = float(density.max()) or 1.0
        points = [[round(g.y, 6), round(g.x, 6), round(d / top, 4)] for (g, _p), d in zip(rows, density, strict=True) if d > 0]  # fmt: skip
        _heat(HeatMap, points, radius=22, blur=18, min_opacity=0.15, max_zoom=16,
              gradient=DENSITY_GRADIENT).add_to(group)  # fmt: skip
    if parent is not None:  # None: the group is handed to streamlit-folium on its own (map_layers)
        group.add_to(parent)
    return group


def add_areas(parent: Any, rows: Sequence[tuple[Any, dict[str, Any]]], lang: str = "en", *, k: int = 5) -> folium.FeatureGroup:  # fmt: skip
    """The area choropleth: counts in five classes; hidden areas hatched grey and labelled "fewer than k"."""

    def make() -> tuple[ShapeParts, list[int]]:
        breaks = class_breaks([p["count"] for _g, p in rows if p.get("count")])
        props = []
        for _geom, p in rows:
            lines = [f"<b>{esc(p.get('name') or p.get('area_code'))}</b>", count_line(p, k, lang)]
            top = p.get("top_themes") or []
            if top:
                shares = ", ".join(f"{theme_label(t['theme'], lang)} {number(t['count'], lang)}" for t in top)
                lines.append(esc(_("Most reported: {themes}", lang).format(themes=shares)))
            if p.get("count") is None:
                style = fill(HIDDEN_FILL, 0.8, weight=1, line=HIDDEN_COLOUR)
            elif not p["count"]:
                style = fill("#ffffff", 0.15, weight=1, line="#555555")
            else:
                style = fill(AREA_COLOURS[class_of(p["count"], breaks)], 0.55, weight=1, line="#555555")
            props.append({"style": style, "tip": "<br>".join(lines)})
        return shape_parts([g for g, _p in rows], props), breaks

    parts, breaks = prepared(AREAS, rows, (lang, k), make)
    return geojson_group(parent, _("Reports per area", lang), parts, breaks=breaks)


def add_crime(parent: Any, crime: Any, lang: str = "en") -> folium.FeatureGroup:
    """Recorded crime per published point: sized circles up to MAX_MARKERS locations, a heat layer above."""
    import folium
    from folium.plugins import HeatMap
    from folium.utilities import JsCode

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
            heading = _("Recorded crime: {n}", lang).format(n=number(int(count), lang))
            tip = [f"<b>{esc(heading)}</b>"]
            tip += [f"{esc(t)}: {number(c, lang)}" for t, c in types]
            radius = 2 + 1.3 * math.sqrt(float(count))
            style = {"radius": round(min(radius, 16), 1), "color": "#ffffff", "weight": 1,
                     "fillColor": CRIME_COLOUR, "fillOpacity": 0.6}  # fmt: skip
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                             "properties": {"style": style, "tip": "<br>".join(tip)}})  # fmt: skip
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            marker=folium.CircleMarker(radius=5, fill=True),
            on_each_feature=JsCode("KobanMap.tip"),
        ).add_to(group)
    if parent is not None:  # None: the group is handed to streamlit-folium on its own (map_layers)
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
        FastMarkerCluster(data, callback=f"KobanMap.dot({colour!r})", disableClusteringAtZoom=18,
                          maxClusterRadius=50, chunkedLoading=True).add_to(group)  # fmt: skip
    if parent is not None:  # None: the group is handed to streamlit-folium on its own (map_layers)
        group.add_to(parent)
    return group


@dataclass
class MapLayers:
    """A map's data layers apart from the map: the overlay group first (legend, empty-result sentence, first
    view), then one FeatureGroup per layer in a fixed order, and the layer control listing them. The dashboard
    hands them to streamlit-folium beside the base map, which keeps its frame and swaps only these when the
    filter changes (ui.map.show.render); `build_map` puts them on the map for a page of its own."""

    groups: list[folium.FeatureGroup]
    control: folium.LayerControl


def map_base(data: MapData, settings: Settings, lang: str = "en", *, projector: bool = False) -> folium.Map:
    """The map under the data: base layer, view over the store's bounds, canvas or SVG. It depends on the
    store, the language and the number of shapes, not on the filter, so its script (and frame) stays the same
    from one filter to the next."""
    return base_map(settings, data.bounds, streets=data.streets, lang=lang, projector=projector,
                    canvas=shape_count(data) > CANVAS_FROM)  # fmt: skip


def map_layers(data: MapData, lang: str = "en") -> MapLayers:
    """The data layers of a MapData (see MapLayers)."""
    import folium

    from ui.map.elements import Overlay

    cell_counts = not Audience(data.audience).aggregates_only
    legend: list[str] = []
    overlay = folium.FeatureGroup(name="koban_overlay", control=False)
    groups = [overlay]
    layers = data.layers
    if AREAS in layers:
        group = add_areas(None, layers[AREAS], lang, k=data.k)
        counts = [p["count"] for _g, p in layers[AREAS] if p.get("count")]
        legend.append(legends.areas(group.koban_breaks, min(counts, default=1), data.k, lang))  # type: ignore[attr-defined]
        groups.append(group)
    if KDE in layers:
        groups.append(add_heat(None, layers[KDE], lang))
        legend.append(legends.heat(lang))
    if GISTAR in layers:
        groups.append(add_gistar(None, layers[GISTAR], lang, k=data.k, counts=cell_counts))
        legend.append(legends.gistar(lang))
    if EMERGING in layers:
        groups.append(add_emerging(None, layers[EMERGING], lang, k=data.k, counts=cell_counts))
        found = {p.get("category") for _g, p in layers[EMERGING]}
        legend.append(
            legends.emerging([c for c in EMERGING_COLOURS if c in found], lang, data.meta.get(EMERGING))
        )
    if DBSCAN in layers:
        groups.append(add_clusters(None, layers[DBSCAN], lang))
        legend.append(legends.swatches(_("Clusters (DBSCAN)", lang), [(CLUSTER_COLOUR, _("Cluster outline", lang))], outline=True))  # fmt: skip
    if CRIME in layers:
        groups.append(add_crime(None, layers[CRIME], lang))
        legend.append(legends.swatches(_("Recorded crime", lang), [(CRIME_COLOUR, _("More crime, larger circle", lang))]))  # fmt: skip
    opens = [key for key in layers if key.startswith(OPEN_PREFIX)]
    shown = []
    for i, key in enumerate(opens):
        colour = OPEN_COLOURS[i % len(OPEN_COLOURS)]
        label = key[len(OPEN_PREFIX) :].replace("_", " ")
        groups.append(add_points(None, label, layers[key], colour, lang))
        shown.append((colour, label))
    if shown:
        legend.append(legends.swatches(_("Open data", lang), shown))
    labels = {"show": _("Legend", lang), "hide": _("Hide legend", lang), "title": _("Legend", lang)}
    message = empty_message(data, lang) if data.empty else None
    Overlay("".join(legend) or None, labels, message, data.bounds).add_to(overlay)
    return MapLayers(groups, folium.LayerControl(collapsed=False, position="topright"))


def build_map(data: MapData, settings: Settings, lang: str = "en", *, projector: bool = False) -> folium.Map:
    """A MapData drawn as one folium.Map (base map, its layers and their control): a page of its own, such as
    the stand-alone map. `projector`: the meeting screen's large legend type."""
    m = map_base(data, settings, lang, projector=projector)
    parts = map_layers(data, lang)
    for group in parts.groups:
        group.add_to(m)
    parts.control.add_to(m)
    return m


def shape_count(data: MapData) -> int:
    """Vector shapes the map would draw (areas, cells, cluster outlines, crime circles, streets)."""
    layers = data.layers
    gi = sum(1 for _g, p in layers.get(GISTAR, ()) if p.get("gi_bin"))
    emerging = sum(1 for _g, p in layers.get(EMERGING, ()) if p.get("category") in EMERGING_COLOURS)
    crime = layers.get(CRIME)
    circles = len(crime) if crime is not None and len(crime) <= MAX_MARKERS else 0
    streets = len(data.streets) if data.streets is not None else 0
    return len(layers.get(AREAS, ())) + gi + emerging + len(layers.get(DBSCAN, ())) + circles + streets


def empty_message(data: MapData, lang: str) -> str:
    """The sentence an empty map shows."""
    if data.latest is None:
        return _("No reports in this period.", lang)
    return _("No reports in this period; the latest report is from {day}.", lang).format(
        day=day(data.latest, lang)
    )


def needs_streets(settings: Settings) -> bool:
    """Whether a map draws the store's streets: no tile server and no offline basemap to draw instead."""
    return settings.tiles_url is None and active_basemap(settings) is None


def map_data(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    flt: Filter | None,
    audience: Audience | str,
    layers: Iterable[str],
    **options: Any,
) -> MapData:
    """koban_geo.outputs.maplayers.map_data with the streets fetched only when the map has no other base."""
    return maplayers.map_data(
        con, settings, flt, audience, layers, streets=needs_streets(settings), **options
    )


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


def geojson_group(parent: Any, name: str, parts: ShapeParts, *, breaks: list[int] | None = None) -> folium.FeatureGroup:  # fmt: skip
    """A named, shown FeatureGroup holding one Shapes layer of `parts` (nothing when it has no feature)."""
    import folium

    from ui.map.elements import Shapes

    group = folium.FeatureGroup(name=esc(name), show=True)
    group.koban_breaks = breaks or []  # type: ignore[attr-defined]
    if parts.features:
        Shapes(parts).add_to(group)
    if parent is not None:  # None: the group is handed to streamlit-folium on its own (map_layers)
        group.add_to(parent)
    return group


_PREPARED: OrderedDict[tuple[Any, ...], tuple[object, tuple[ShapeParts, list[int]]]] = OrderedDict()
_PREPARED_LOCK = threading.Lock()
PREPARED_MAX = 24  # layers kept: the default maps of each tier and language and the last filters


def prepared(layer: str, rows: Sequence[Any], options: tuple[Any, ...],
             make: Callable[[], tuple[ShapeParts, list[int]]]) -> tuple[ShapeParts, list[int]]:  # fmt: skip
    """A layer's drawn text (and class breaks), made once per rows object and options: a cached MapData
    (ui.map.cache) hands every rerun the same rows, so a rerun draws its thousands of cells without building
    their tooltips and GeoJSON again (~0.1 s on 1,000,000 concerns). The entry holds the rows, so their id is
    not reused while it is kept."""
    key = (layer, id(rows), *options)
    with _PREPARED_LOCK:
        hit = _PREPARED.get(key)
        if hit is not None and hit[0] is rows:
            _PREPARED.move_to_end(key)
            return hit[1]
    value = make()
    with _PREPARED_LOCK:
        _PREPARED[key] = (rows, value)
        _PREPARED.move_to_end(key)
        while len(_PREPARED) > PREPARED_MAX:
            _PREPARED.popitem(last=False)
    return value


def _heat(kind: Any, points: list[list[float]], **options: Any) -> Any:
    """A HeatMap of [lat, lon, weight] rows made here (finite floats): folium's per-point check is skipped."""
    layer = kind([], **options)
    layer.data = points
    return layer
