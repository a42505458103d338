"""The maps of the dashboard's pages, their data cached per store data version (ui.store.data_version):
`map_data` runs once per (data version, filter, tier, layers); drawing a cached MapData takes a few tens of
milliseconds, so a rerun stays cheap. Also the layer picker of the sidebar."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from koban_geo.analysis.grid import Filter
from koban_geo.outputs.maplayers import (
    AREAS,
    CRIME,
    DBSCAN,
    DEFAULT_LAYERS,
    EMERGING,
    GISTAR,
    KDE,
    OPEN_PREFIX,
    PUBLIC_LAYERS,
    MapData,
    allowed_layers,
    drawn_only,
)
from koban_geo.privacy.audience import Audience, Policy
from ui.map.draw import map_data
from ui.map.style import _

if TYPE_CHECKING:
    import folium

    from ui.map.draw import MapLayers

WAIT_S = (
    30.0  # a page waits at most this long for the warm-up (ui.map.warmup) before computing its map itself
)
_CACHED: dict[str, Any] = {}  # the cached data function, and the warm-up thread (ui.map.warmup)
LOCK = threading.Lock()


@dataclass
class BuiltMap:
    map: folium.Map  # the base map (ui.map.draw.map_base): the same script for every filter
    layers: MapLayers  # the data layers, handed to streamlit-folium beside it (ui.map.show.render)
    note: str  # the precision note to show with the map
    meta: dict[str, dict[str, Any]]
    data: MapData


def _cached_data_fn() -> Any:
    fn = _CACHED.get("data")
    if fn is None:
        import streamlit as st

        @st.cache_data(max_entries=4, show_spinner=False)
        def _bounds(version: str) -> tuple[float, float, float, float] | None:
            from koban_geo.analysis import areas
            from ui import store

            return areas.bounds(store.reader())

        # cache_resource, not cache_data: one MapData shared by every session, never pickled (on 1,000,000
        # concerns a pickle round trip of the default map's data took 0.15-0.3 s of every rerun). Nothing
        # changes a MapData after map_data made it (build_map and the details panel only read it).
        @st.cache_resource(max_entries=32, show_spinner=False)
        def _data(version: str, flt: Filter, audience: str, layers: tuple[str, ...]) -> MapData:
            from ui import store

            data = map_data(
                store.reader(), store.settings(), flt, audience, layers, store_bounds=_bounds(version)
            )
            return drawn_only(data)

        fn = _CACHED.setdefault("data", _data)
    return fn


def cached_officer_map(version: str, flt: Filter, audience: Audience | str, layers: Iterable[str], lang: str, *, projector: bool = False) -> BuiltMap:  # fmt: skip
    """officer_map with the layers' data cached per store data version (ui.store.data_version)."""
    from ui import store
    from ui.map.draw import map_base, map_layers

    settings = store.settings()
    warming = _CACHED.get("warm")
    if warming is not None and warming.is_alive():
        # the first seconds after a start: wait for the warm-up rather than compute the same map twice at once
        warming.join(timeout=WAIT_S)
    data = _cached_data_fn()(version, flt, str(Audience(audience)), tuple(sorted(layers)))
    note = Policy.for_audience(audience, settings).precision_note(lang)
    base = map_base(data, settings, lang, projector=projector)
    return BuiltMap(base, map_layers(data, lang), note, data.meta, data)


def cached_public_map(version: str, flt: Filter, lang: str, *, projector: bool = False) -> BuiltMap:
    """public_map with its data cached per store data version."""
    return cached_officer_map(version, flt, Audience.PUBLIC, PUBLIC_LAYERS, lang, projector=projector)


def layer_picker(audience: Audience | str, key: str = "map-layers") -> set[str]:
    """A multiselect of the layers this audience may see (default: areas and Gi* cells)."""
    import streamlit as st

    from koban_geo.analysis.areas import layer_names
    from ui import store
    from ui.i18n import current_lang, keep, lang_key

    lang = current_lang()
    opens = [name for name, _n, points in layer_names(store.reader()) if points]
    options = allowed_layers(audience, opens)
    widget = lang_key(key, [o for o in options if o in DEFAULT_LAYERS])  # chips in the new language at once
    st.session_state[widget] = [o for o in st.session_state[widget] if o in options]
    chosen = st.multiselect(
        _("Layers", lang), options, format_func=lambda o: layer_label(o, lang), key=widget
    )
    keep(key, chosen)
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
