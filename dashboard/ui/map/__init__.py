"""The dashboard's maps: folium drawing over koban_geo.outputs.maplayers, from local assets only.

What a map shows (layers through the audience gate, the allow-lists per tier) is the library's
(`koban_geo.outputs.maplayers`); here is only how it looks and how the pages get it:

- `style`: colours, labels, escaping;  `legend`: the legend's HTML;  `elements`: our folium elements, each a
  call into dashboard/static/koban/map.js;  `shapes`: the text of a layer of many shapes, without folium;  `draw`: a MapData as a folium.Map (`add_base_layer` is the one
  place the base layer is added);  `show`: in Streamlit or as a stand-alone page;  `cache`: the pages' cached
  maps and the layer picker;  `warmup`: the default maps computed at server start.

Names are looked up on first use (PEP 562), so `import ui.map.warmup` at app start pulls in no folium.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ui.map.style": ("AREA_COLOURS", "CLUSTER_COLOUR", "CRIME_COLOUR", "DENSITY_GRADIENT", "EMERGING_COLOURS",
                     "GI_COLOURS", "OPEN_COLOURS", "STREET_COLOUR", "esc"),
    "ui.map.draw": ("CANVAS_FROM", "MAX_ZOOM", "add_areas", "add_base_layer", "add_clusters", "add_crime", "add_emerging",
                    "add_gistar", "add_heat", "add_points", "base_map", "build_map", "empty_message",
                    "map_data", "needs_streets", "officer_map", "public_map"),
    "ui.map.show": ("RETURNED_OBJECTS", "local_links", "render", "standalone_html"),
    "ui.map.cache": ("BuiltMap", "_CACHED", "_cached_data_fn", "cached_officer_map", "cached_public_map",
                     "layer_label", "layer_picker"),
    "ui.map.warmup": ("WARM_TIERS", "warm_default_maps"),
    "koban_geo.outputs.maplayers": ("AGGREGATE_LAYERS", "ANALYSIS_LAYERS", "AREAS", "CRIME", "DBSCAN",
                                    "DEFAULT_LAYERS", "EMERGING", "GISTAR", "KDE", "MAX_MARKERS", "OPEN_PREFIX",
                                    "PUBLIC_LAYERS", "MapData", "allowed_layers", "drawn_only"),
    "koban_geo.outputs.classes": ("class_breaks",),
}  # fmt: skip
_NAMES = {name: module for module, names in _WHERE.items() for name in names}
__all__ = sorted(name for name in _NAMES if not name.startswith("_"))


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'ui.map' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
