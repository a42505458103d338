"""The officers' problem map: hotspot layers over the filtered concerns, and the details of a clicked place."""

from __future__ import annotations

import streamlit as st

from koban_geo.privacy.audience import Audience
from ui import auth, details, store
from ui import map as maps
from ui.filters import sidebar
from ui.i18n import _, current_lang
from ui.layout import precision_note

have = auth.require(Audience.COUNCIL)
lang = current_lang()
flt, audience = sidebar(have, lang, key="map")
st.title(_("Problem map"))
layers = maps.layer_picker(audience, key="map-layers")
with st.spinner(_("Drawing the map...")):
    built = maps.cached_officer_map(store.data_version(), flt, audience, frozenset(layers), lang)
precision_note(built.note)
left, right = st.columns([3, 2], gap="medium")
with left:
    clicked = maps.render(built.map, key="officer-map", height=640)
with right:
    details.panel(clicked, flt, audience, lang)
