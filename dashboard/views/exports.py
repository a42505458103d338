"""Exports for councils and partners: GeoJSON (RFC 7946), CSV, GeoPackage and the meeting pack, each through
the audience tiers and recorded in the audit log. The time window, themes and areas start as the map's
(ui/filters.py owns that choice) and go into the file's metadata; the download always holds the file for
the choice on screen (a changed choice asks for a new file instead of offering the old one)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from koban_geo.privacy.audience import Audience
from koban_geo.store.i18n import format_date
from ui import auth, store
from ui.filters import audience_label, choose, describe
from ui.i18n import _, current_lang
from ui.text import plain

have = auth.require(Audience.COUNCIL)
me = auth.current()
actor = me.username if me else "council"
lang = current_lang()

from koban_geo.community.meetings import list_meetings  # noqa: E402
from koban_geo.outputs.export import CSV_METADATA_SUFFIX, export  # noqa: E402
from koban_geo.outputs.meeting_pack import meeting_pack  # noqa: E402

st.title(_("Exports"))
WHAT = {
    "hotspots": _("Hotspot cells (Gi*)"),
    "areas": _("Counts per area"),
    "priorities": _("A meeting's priorities"),
    "problems": _("Problem cards"),
    "pack": _("Meeting pack (printable HTML)"),
}
FILTERED = ("hotspots", "areas", "problems")  # the exports a time window, themes and areas apply to
FORMATS = {"geojson": "GeoJSON (RFC 7946)", "csv": "CSV", "gpkg": "GeoPackage"}
tiers = [a for a in auth.previewable(have) if a != Audience.ANALYST]
what = st.selectbox(_("What"), list(WHAT), format_func=WHAT.__getitem__, key="export-what")
meeting_id = None
if what in ("priorities", "pack"):
    meetings = {m.id: m for m in list_meetings(store.reader())}
    if not meetings:
        st.info(_("No meeting yet."))
        st.stop()
    meeting_id = st.selectbox(_("Meeting"), list(meetings), key="export-meeting",
                              format_func=lambda i: f"{meetings[i].title} ({format_date(meetings[i].date, lang)})")  # fmt: skip
audience = Audience.PUBLIC if what == "pack" else st.selectbox(
    _("For"), tiers, format_func=audience_label, key="export-audience")  # fmt: skip
flt = None
if what in FILTERED:
    with st.container(border=True):
        st.caption(_("The same choice as on the map; change it here for this file only."))
        flt = choose(lang, audience, key="export-flt", remember=False)
fmt = "html" if what == "pack" else st.radio(_("Format"), list(FORMATS), format_func=FORMATS.__getitem__,
                                             horizontal=True, key="export-format")  # fmt: skip
# Everything the file depends on: a prepared file is offered only while the choice on screen is the same.
choice = (what, meeting_id, str(audience), fmt, repr(flt), lang)
if flt is not None:
    st.caption(_("This file will hold: {filter}").format(filter=describe(flt, lang)))

if st.button(_("Prepare the file"), key="export-prepare", type="primary"):
    with st.spinner(_("Preparing...")), tempfile.TemporaryDirectory() as folder:
        span = ""
        if flt is not None and flt.since is not None:
            span = f"-{flt.since:%Y%m%d}"
        name = f"koban-{what}-{audience}{span}.{fmt}"
        out = Path(folder) / name
        try:
            files: list[tuple[str, bytes]] = []
            if what == "pack":
                assert meeting_id is not None  # chosen above, or the page stopped
                meeting_pack(store.connection(), store.settings(), meeting_id, lang, out, actor=actor)
            else:
                report = export(store.connection(), store.settings(), what, audience, out, actor=actor,
                                flt=flt, meeting_id=meeting_id, lang=lang)  # fmt: skip
                if report.sidecar is not None:  # a CSV's metadata (its filters, privacy, licence) beside it
                    files.append((report.sidecar.name, report.sidecar.read_bytes()))
            files.insert(0, (name, out.read_bytes()))
        except ValueError as exc:
            st.error(plain(exc))
        else:
            st.session_state["export-file"] = (choice, files)
prepared = st.session_state.get("export-file")
if prepared and prepared[0] == choice:
    for i, (name, data) in enumerate(prepared[1]):
        label = _("Download {name}").format(name=name)
        if name.endswith(CSV_METADATA_SUFFIX):
            label = _("Download its metadata {name}").format(name=name)
        st.download_button(label, data, file_name=name, key=f"export-download-{i}", on_click="ignore")
    st.caption(_("Every export is recorded in the audit log: who, what, for whom, when."))
elif prepared:
    st.caption(_("The choice has changed: prepare the file again to download it."))
