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
from ui.layout import month_chart
from ui.text import plain
from ui.text import table as plain_table


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
            reported = _show(flt, audience, lang, area_code=place.area_code)
            _problem_button(
                flt, audience, "area", place.area_code, place.area_name or place.area_code, reported
            )
    with tabs[1]:
        reported = _show(flt, audience, lang, polygon_wkt=place.cell_wkt)
        _problem_button(flt, audience, "cell", place.cell_wkt, _("Cell near {area}").format(
            area=place.area_name or _("the map")), reported)  # fmt: skip


def family_label(code: str) -> str:
    """A theme family (data/themes.csv, column family) in words."""
    return {
        "asb": _("Anti-social behaviour and noise"),
        "drugs": _("Drugs"),
        "traffic": _("Traffic and parking"),
        "property": _("Burglary, theft and vandalism"),
        "environment": _("Litter and lighting"),
        "violence": _("Violence"),
        "other": _("Other"),
        "sensitive": _("Sensitive themes"),
    }.get(code, code)


def _show(flt: Filter, audience: Audience, lang: str, **where: str) -> list[str]:
    """Draw the place's details; returns the themes it has reports of (in this filter), most first."""
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
        month_chart(list(info.months["month"]), [0.0 if pd.isna(n) else float(n) for n in info.months["count"]],
                    lang, y_label=_("Reports"), height=160)  # fmt: skip
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
        table = pd.DataFrame(
            {
                _("Kind of problem"): [family_label(str(row["family"])) for row in info.perception],
                _("Concerns"): [row["concerns"] for row in info.perception],
                _("Recorded crime"): [row["crime"] for row in info.perception],
                _("Reading"): [_flag_label(str(row["flag"])) for row in info.perception],
            }
        )
        plain_table(table.set_index(_("Kind of problem")))  # a few rows: a plain, readable table
    if info.examples:
        st.markdown("**" + _("Recent reports (scrubbed)") + "**")
        for example in info.examples:
            # st.text shows the string literally: no Markdown, no HTML (reports are untrusted input).
            st.text(f"{example['month']:%Y-%m} · {theme_label(example['theme'], lang)}: {example['text']}")
    st.caption(info.note)
    shown = info.themes[info.themes["count"].notna() & (info.themes["count"] > 0)]
    return [str(t) for t in shown["theme"]]


def _problem_button(
    flt: Filter, audience: Audience, kind: str, ref: str, title: str, reported: list[str]
) -> None:
    """ "Turn into a problem" from any filter: the card takes the filter's themes, else the themes the place
    has reports of; the dialog shows them and asks when there are none."""
    if audience.aggregates_only:
        return
    done = st.session_state.pop(f"to-problem-done-{kind}", None)
    if done is not None:
        st.success(_("Problem card {id} created.").format(id=done))
    if st.button(_("Turn into a problem"), key=f"to-problem-{kind}", type="secondary"):
        _problem_dialog(flt, kind, ref, title, list(flt.themes or reported))


def _problem_dialog(flt: Filter, kind: str, ref: str, title: str, proposed: list[str]) -> None:
    from koban_geo.community.problems import ProblemError
    from koban_geo.store.taxonomy import themes
    from ui.i18n import current_lang
    from ui.problems import create_from_place

    lang = current_lang()

    @st.dialog(_("Turn into a problem"))
    def dialog() -> None:
        name = st.text_input(_("Title"), title, key=f"to-problem-title-{kind}", max_chars=200)
        codes = [t.code for t in themes()]
        chosen = st.multiselect(_("Themes"), codes, default=[c for c in proposed if c in codes],
                                format_func=lambda c: theme_label(c, lang), key=f"to-problem-themes-{kind}")  # fmt: skip
        if not proposed:
            st.caption(_("No reports here in this window: choose the theme the problem is about."))
        if st.button(_("Create the problem card"), key=f"to-problem-create-{kind}", type="primary",
                     disabled=not chosen or not name.strip()):  # fmt: skip
            try:
                made = create_from_place(kind, ref, name, flt, chosen)
            except (ProblemError, ValueError) as exc:
                st.error(str(exc))
            else:
                st.session_state[f"to-problem-done-{kind}"] = made
                st.rerun()

    dialog()
