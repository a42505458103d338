"""Problem cards (SARA): scanning, analysis, response, assessment; statuses and the audit trail."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from koban_geo.analysis.areas import area_names
from koban_geo.privacy.audience import Audience
from ui import auth, store
from ui.filters import open_layer_label, theme_label
from ui.i18n import _, current_lang, ngettext
from ui.layout import month_chart
from ui.problems import action_statuses, near_repeat_section, risk_section
from ui.text import plain
from ui.text import table as plain_table

have = auth.require(Audience.COUNCIL)
me = auth.current()
actor = me.username if me else "officer"
lang = current_lang()

from koban_geo.community.problem_card import card  # noqa: E402
from koban_geo.community.problems import (  # noqa: E402
    CONCERN_KEYS_LIMIT,
    ProblemError,
    add_action,
    allowed_moves,
    create_problem,
    get_problem,
    history,
    list_problems,
    set_analysis,
    set_plan,
    set_status,
    update_action,
)

STATUS = {
    "scanning": _("Scanning"),
    "analysis": _("Analysis"),
    "response": _("Response"),
    "assessment": _("Assessment"),
    "closed": _("Closed"),
}
ACTION_STATUS = action_statuses()

st.title(_("Problems (SARA)"))
officer = not have.aggregates_only
areas = area_names(store.reader())

if officer:
    with st.expander(_("New problem for an area")):
        from koban_geo.store.taxonomy import theme_codes

        area = st.selectbox(_("Area"), list(areas), format_func=areas.__getitem__, key="new-problem-area")
        themes = st.multiselect(_("Themes"), theme_codes(), format_func=lambda c: theme_label(c, lang),
                                key="new-problem-themes")  # fmt: skip
        title = st.text_input(_("Title"), key="new-problem-title", max_chars=200)
        if st.button(_("Create"), key="new-problem-create", type="primary"):
            try:
                made = create_problem(store.connection(), store.settings(), actor=actor, title=title or None,
                                      themes=themes or None, area=area)  # fmt: skip
            except (ProblemError, ValueError) as exc:
                st.error(plain(exc))
            else:
                st.session_state["problem-pick"] = made

table = list_problems(store.reader())
if table.empty:
    st.info(
        _("No problem cards yet. Create one here, from a hotspot on the map, or from a meeting's priority.")
    )
    st.stop()
ids = [int(i) for i in table["id"]]
titles = dict(zip(ids, table["title"], strict=True))
statuses = dict(zip(ids, table["status"], strict=True))
picked = st.selectbox(_("Problem"), ids, key="problem-pick",
                      format_func=lambda i: f"#{i} {titles[i]} · {STATUS.get(statuses[i], statuses[i])}")  # fmt: skip
problem = get_problem(store.reader(), picked)
view = card(store.reader(), store.settings(), problem, audience=have)
if view is None:
    st.info(_("This card is not shown to your tier."))
    st.stop()
props = view.properties
st.subheader(plain(props["title"]))
st.caption(
    plain(
        " · ".join(
            [STATUS.get(props["status"], props["status"]), *[theme_label(t, lang) for t in props["themes"]]]
        )
    )
)

tabs = st.tabs([_("Scanning"), _("Analysis"), _("Response"), _("Assessment"), _("History")])
with tabs[0]:
    scanning = props.get("scanning") or {}
    if scanning.get("months"):
        month_chart([m["month"] + "-01" for m in scanning["months"]], [m["count"] or 0 for m in scanning["months"]],
                    lang, y_label=_("Groups of reports") if store.settings().count_unit == "groups" else _("Reports"))  # fmt: skip
    groups = store.settings().count_unit == "groups"
    total = scanning.get("total")
    st.metric(_("Groups of reports") if groups else _("Reports"), "–" if total is None else total)
    if groups:  # why this number and the linked reports below differ
        st.caption(_("Repeated reports of one issue from one place count once, as one group."))
    linked = len(scanning.get("concerns") or [])
    if officer and linked:
        line = ngettext("{n} linked report", "{n} linked reports", linked).format(n=linked)
        if linked >= CONCERN_KEYS_LIMIT:
            line += " " + _("(the first {limit} are listed)").format(limit=CONCERN_KEYS_LIMIT)
        st.caption(line)
with tabs[1]:
    analysis = props.get("analysis")
    if analysis and officer:
        with st.form("analysis"):
            tri = analysis["triangle"]
            place_text = st.text_area(_("Place"), tri.get("place") or "", key="tri-place", max_chars=2000)
            victim_text = st.text_area(
                _("Victim or target"), tri.get("victim") or "", key="tri-victim", max_chars=2000
            )
            offender_text = st.text_area(_("Offender or behaviour"), tri.get("offender") or "", key="tri-offender",
                                         max_chars=2000)  # fmt: skip
            notes = st.text_area(_("Notes"), analysis.get("notes") or "", key="tri-notes", max_chars=2000)
            if st.form_submit_button(_("Save analysis"), key="analysis-save"):
                set_analysis(store.connection(), problem.id, actor=actor, place=place_text, victim=victim_text,
                             offender=offender_text, notes=notes)  # fmt: skip
                st.rerun()
        st.caption(_("Texts are scrubbed of personal data when saved."))
        st.markdown("**" + _("Recorded crime in the place") + "**")
        crime = analysis.get("crime") or []
        if crime:
            plain_table(
                pd.DataFrame(
                    {
                        _("Crime type"): [c["crime_type"] for c in crime],
                        _("Theme"): [theme_label(c["theme"], lang) if c["theme"] else "–" for c in crime],
                        _("Crimes"): [c["count"] for c in crime],
                    }
                ).set_index(_("Crime type"))
            )
            by_type = {c["crime_type"]: c["count"] for c in crime}
            st.bar_chart(pd.Series(by_type, name=_("Crimes")), horizontal=True, height=60 + 28 * len(by_type),
                         x_label=_("Crimes"), y_label="")  # fmt: skip
        else:
            st.caption(_("No recorded crime in the place."))
        st.markdown("**" + _("Open data in the place") + "**")
        layers = analysis.get("layers") or {}
        if layers:
            plain_table(
                pd.DataFrame(
                    {_("Layer"): [open_layer_label(k) for k in layers], _("Features"): list(layers.values())}
                ).set_index(_("Layer"))
            )
        else:
            st.caption(_("No open-data features in the place."))
        risk_section(tuple(problem.themes), list(analysis.get("layers") or {}), str(have), lang)
        near_repeat_section(tuple(problem.themes), str(have), lang)
with tabs[2]:
    for action in props.get("actions", []):
        line = f"{ACTION_STATUS.get(action['status'], action['status'])} · {action['owner_org']} · {action.get('due') or ''}"
        st.text(f"{action['description']}\n{line}")
        if officer and "id" in action:
            new = st.selectbox(_("Status"), list(ACTION_STATUS), index=list(ACTION_STATUS).index(action["status"]),
                               format_func=ACTION_STATUS.__getitem__, key=f"action-status-{action['id']}")  # fmt: skip
            if new != action["status"]:
                update_action(store.connection(), action["id"], actor=actor, status=new)
                st.rerun()
    if officer:
        with st.form("action-add", clear_on_submit=True):
            description = st.text_input(_("Action"), key="action-text", max_chars=2000)
            owner = st.text_input(_("Owner organisation"), key="action-owner", max_chars=200)
            due = st.date_input(_("Due"), value=None, key="action-due")
            if st.form_submit_button(_("Add action"), key="action-add-submit"):
                try:
                    add_action(store.connection(), problem.id, actor=actor, description=description,
                               owner_org=owner, due=due)  # fmt: skip
                except (ProblemError, ValueError) as exc:
                    st.error(plain(exc))
                else:
                    st.rerun()
with tabs[3]:
    assessment = props.get("assessment")
    if assessment:
        st.write(plain(assessment["verdict"]))
        cols = st.columns(3)
        if assessment.get("change_pct") is not None:
            cols[0].metric(_("Change in the place"), f"{assessment['change_pct']:+.0f} %")
        if assessment.get("comparison_change_pct") is not None:
            cols[1].metric(_("Change in the comparison"), f"{assessment['comparison_change_pct']:+.0f} %")
        if assessment.get("relative_effect") is not None:
            cols[2].metric(_("Relative effect"), f"{assessment['relative_effect']:.2f}")
    if officer:
        with st.form("plan"):
            start = st.date_input(
                _("Response started"), value=problem.response_start or date.today(), key="plan-start"
            )
            days = st.number_input(
                _("Days before and after"), 7, 365, int(problem.period_days or 91), key="plan-days"
            )
            comparison = st.selectbox(_("Comparison area"), [None, *areas], key="plan-comparison",
                                      format_func=lambda c: _("A ring around the place") if c is None else areas[c])  # fmt: skip
            ring = st.number_input(
                _("Ring width (m)"), 50, 2000, int(problem.comparison_buffer_m or 300), key="plan-ring"
            )
            if st.form_submit_button(_("Save plan"), key="plan-save"):
                try:
                    set_plan(store.connection(), problem.id, actor=actor, response_start=start, period_days=int(days),
                             comparison_area=comparison, buffer_m=None if comparison else float(ring))  # fmt: skip
                except (ProblemError, ValueError) as exc:
                    st.error(plain(exc))
                else:
                    st.rerun()
with tabs[4]:
    if officer:
        st.dataframe(history(store.reader(), problem.id), hide_index=True, width="stretch")

if officer:
    moves = allowed_moves(problem)
    if moves:
        move_cols = st.columns(len(moves))
        for i, move in enumerate(moves):
            if move_cols[i].button(
                _("Move to: {status}").format(status=STATUS.get(move, move)), key=f"move-{move}"
            ):
                try:
                    set_status(store.connection(), problem.id, move, actor=actor)
                except ProblemError as exc:
                    st.error(plain(exc))
                else:
                    st.rerun()
