"""The details panel beside the officers' map: what is at the clicked place, and "turn into a problem"."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from koban_geo.analysis.grid import Filter
from koban_geo.privacy.audience import Audience
from ui import store
from ui.filters import theme_label
from ui.i18n import _
from ui.text import plain


def _trend_label(code: str) -> str:
    return {
        "up": _("Getting worse"),
        "down": _("Fading"),
        "none": _("No clear trend"),
        "too_few": _("Too few reports to tell"),
    }[code]


def _flag_label(code: str) -> str:
    return {
        "concern_without_crime": _("Concern without recorded crime"),
        "crime_without_concern": _("Recorded crime without concern"),
        "both": _("Concerns and recorded crime agree"),
        "neither": _("Nothing unusual"),
        "too_few": _("Too few to tell"),
    }.get(code, code)


def panel(clicked: dict[str, Any] | None, flt: Filter, audience: Audience, lang: str) -> None:
    """Details of the last clicked point (area and 100 m cell), or a hint when nothing is clicked."""
    from koban_geo.analysis.details import place_at

    point = (clicked or {}).get("last_object_clicked") or {}
    if "lat" not in point or "lng" not in point:
        st.info(_("Click a hotspot cell or an area on the map to see its details."))
        return
    place = place_at(store.reader(), float(point["lng"]), float(point["lat"]))
    tabs = st.tabs([_("Area"), _("Cell (100 m)")])
    with tabs[0]:
        if place.area_code is None:
            st.caption(_("No area here."))
        else:
            st.subheader(plain(place.area_name or place.area_code))
            _show(flt, audience, lang, area_code=place.area_code)
            _problem_button(flt, audience, "area", place.area_code, place.area_name or place.area_code)
    with tabs[1]:
        _show(flt, audience, lang, polygon_wkt=place.cell_wkt)
        _problem_button(flt, audience, "cell", place.cell_wkt, _("Cell near {area}").format(
            area=place.area_name or _("the map")))  # fmt: skip


def _show(flt: Filter, audience: Audience, lang: str, **where: str) -> None:
    from koban_geo.analysis.details import place_details

    with st.spinner(_("Counting...")):
        info = place_details(store.reader(), store.settings(), audience=audience, flt=flt, lang=lang, **where)
    total = "–" if info.total is None else f"{info.total:,}"
    cols = st.columns([1, 2])
    cols[0].metric(_("Reports"), total)
    with cols[1]:  # a metric would cut "No clear trend" to "No clear …" in a narrow column
        st.caption(_("Trend"))
        st.markdown("**" + _trend_label(info.trend) + "**")
    if len(info.months):
        series = info.months.set_index("month")["count"].astype("float")
        st.bar_chart(series, height=160, x_label=_("Month"), y_label=_("Reports"))
    if len(info.themes):
        mix = pd.DataFrame(
            {
                _("Theme"): [theme_label(t, lang) for t in info.themes["theme"]],
                _("Reports"): [("–" if pd.isna(n) else int(n)) for n in info.themes["count"]],
            }
        )
        st.dataframe(mix, hide_index=True, width="stretch")
    if info.perception:
        st.markdown("**" + _("Concerns and recorded crime") + "**")
        for row in info.perception:
            st.text(f"{row['family']}: {_flag_label(str(row['flag']))} ({row['concerns']} / {row['crime']})")
    if info.examples:
        st.markdown("**" + _("Recent reports (scrubbed)") + "**")
        for example in info.examples:
            # st.text shows the string literally: no Markdown, no HTML (reports are untrusted input).
            st.text(f"{example['month']:%Y-%m} · {theme_label(example['theme'], lang)}: {example['text']}")
    st.caption(info.note)


def _problem_button(flt: Filter, audience: Audience, kind: str, ref: str, title: str) -> None:
    if audience.aggregates_only:
        return
    if st.button(_("Turn into a problem"), key=f"to-problem-{kind}", type="secondary"):
        from ui.problems import create_from_place

        problem_id = create_from_place(kind, ref, title, flt)
        st.success(_("Problem card {id} created.").format(id=problem_id))
