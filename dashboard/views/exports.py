"""Exports for councils and partners: GeoJSON (RFC 7946), CSV, GeoPackage and the meeting pack, each through
the audience tiers and recorded in the audit log."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from koban_geo.privacy.audience import Audience
from ui import auth, store
from ui.filters import audience_label
from ui.i18n import _, current_lang
from ui.text import plain

have = auth.require(Audience.COUNCIL)
me = auth.current()
actor = me.username if me else "council"
lang = current_lang()

from koban_geo.analysis.grid import Filter  # noqa: E402
from koban_geo.community.meetings import list_meetings  # noqa: E402
from koban_geo.outputs.export import export  # noqa: E402
from koban_geo.outputs.meeting_pack import meeting_pack  # noqa: E402

st.title(_("Exports"))
WHAT = {
    "hotspots": _("Hotspot cells (Gi*)"),
    "areas": _("Counts per area"),
    "priorities": _("A meeting's priorities"),
    "problems": _("Problem cards"),
    "pack": _("Meeting pack (printable HTML)"),
}
FORMATS = {"geojson": "GeoJSON (RFC 7946)", "csv": "CSV", "gpkg": "GeoPackage"}
tiers = [a for a in auth.previewable(have) if a != Audience.ANALYST]
what = st.selectbox(_("What"), list(WHAT), format_func=WHAT.__getitem__, key="export-what")
meeting_id = None
if what in ("priorities", "pack"):
    meetings = list_meetings(store.reader())
    if not meetings:
        st.info(_("No meeting yet."))
        st.stop()
    chosen = st.selectbox(_("Meeting"), meetings, key="export-meeting",
                          format_func=lambda m: f"{m.title} ({m.date:%d.%m.%Y})")  # fmt: skip
    meeting_id = chosen.id
audience = Audience.PUBLIC if what == "pack" else st.selectbox(
    _("For"), tiers, format_func=audience_label, key="export-audience")  # fmt: skip
fmt = "html" if what == "pack" else st.radio(_("Format"), list(FORMATS), format_func=FORMATS.__getitem__,
                                             horizontal=True, key="export-format")  # fmt: skip

if st.button(_("Prepare the file"), key="export-prepare", type="primary"):
    with st.spinner(_("Preparing...")), tempfile.TemporaryDirectory() as folder:
        name = f"koban-{what}-{audience}.{fmt}"
        out = Path(folder) / name
        try:
            if what == "pack":
                assert meeting_id is not None  # chosen above, or the page stopped
                meeting_pack(store.connection(), store.settings(), meeting_id, lang, out, actor=actor)
            else:
                export(store.connection(), store.settings(), what, audience, out, actor=actor,
                       flt=Filter(unit=store.settings().count_unit), meeting_id=meeting_id, lang=lang)  # fmt: skip
        except ValueError as exc:
            st.error(plain(exc))
        else:
            st.session_state["export-file"] = (name, out.read_bytes())
prepared = st.session_state.get("export-file")
if prepared:
    name, data = prepared
    st.download_button(_("Download {name}").format(name=name), data, file_name=name, key="export-download")
    st.caption(_("Every export is recorded in the audit log: who, what, for whom, when."))
