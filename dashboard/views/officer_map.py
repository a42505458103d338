"""The officers' problem map, map first: filters and layers in the sidebar, the map filling the rest of the
window, and the details of a clicked place in a panel over the map's left side (the map keeps its size)."""

from __future__ import annotations

import streamlit as st

from koban_geo.privacy.audience import Audience
from ui import auth, details, store
from ui.filters import sidebar
from ui.i18n import _, current_lang
from ui.layout import MAP_FIRST_CSS, style
from ui.map.cache import cached_officer_map, layer_picker
from ui.map.show import render

have = auth.require(Audience.COUNCIL)
lang = current_lang()
style(MAP_FIRST_CSS)
flt, audience = sidebar(have, lang, key="map")
with st.sidebar:
    layers = layer_picker(audience, key="map-layers")
with st.spinner(_("Drawing the map...")):
    built = cached_officer_map(store.data_version(), flt, audience, frozenset(layers), lang)
with st.container(key="map-head", horizontal=True, vertical_alignment="center"):
    st.markdown("#### " + _("Problem map"))
    st.caption("🔒 " + built.note)
clicked = render(built.map, key="officer-map", height=640, layers=built.layers)
point = (clicked or {}).get("last_object_clicked") or None
if point and point == st.session_state.get("map-details-closed"):
    point = None
if point:
    with st.container(key="map-details"):
        if st.button(_("Close"), key="map-details-close", icon=":material/close:", type="tertiary"):
            st.session_state["map-details-closed"] = point
            st.rerun()
        details.panel(clicked, flt, audience, lang)
else:
    with st.container(key="map-hint"):
        st.caption(_("Click a hotspot cell or an area on the map to see its details."))
