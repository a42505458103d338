"""Meetings, for officers: prepare one from the analytics, open and close voting, add paper or show-of-hands
counts, set the groups' weights, and see the results per group side by side."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import streamlit as st

from koban_geo.analysis.areas import area_names
from koban_geo.privacy.audience import Audience
from koban_geo.store.i18n import format_date
from ui import auth, store
from ui.i18n import _, current_lang
from ui.meeting import group_summary, join_url, public_url_notice, rank_labels, role_label, tally_table
from ui.phones_panel import phones_panel
from ui.text import plain

auth.require(Audience.OFFICER)
me = auth.current()
actor = me.username if me else "officer"
lang = current_lang()

from koban_geo.community.meetings import (  # noqa: E402
    ROLES,
    MeetingError,
    Rules,
    close_meeting,
    create_meeting,
    custom_candidate,
    list_meetings,
    open_meeting,
    reopen_meeting,
    set_weights,
)
from koban_geo.community.proposals import propose_candidates  # noqa: E402
from koban_geo.community.voting import add_facilitator_count, results  # noqa: E402

st.title(_("Meetings"))
public_url_notice()  # before any meeting is opened: can phones in the room reach the join link?
areas = area_names(store.reader())

with st.expander(_("Prepare a new meeting"), expanded=not list_meetings(store.reader())):
    title = st.text_input(_("Title"), key="new-meeting-title", max_chars=120)
    when = st.date_input(_("Date"), date.today() + timedelta(days=7), key="new-meeting-date")
    chosen = st.multiselect(_("Areas"), list(areas), format_func=areas.__getitem__, key="new-meeting-areas")
    method = st.radio(_("Voting"), ("dots", "ranking"), horizontal=True, key="new-meeting-method",
                      format_func=lambda m: _("Dot voting") if m == "dots" else _("Ranking"))  # fmt: skip
    budget, cap = 3, 2
    if method == "dots":
        cols = st.columns(2)
        budget = cols[0].number_input(_("Dots per person"), 1, 20, 3, key="new-meeting-budget")
        cap = cols[1].number_input(_("Most dots on one item"), 1, 20, 2, key="new-meeting-cap")
    proposals = []
    if chosen:
        end = datetime.combine(date.today() + timedelta(days=1), datetime.min.time())
        with st.spinner(_("Looking for candidate themes and hotspots...")):
            proposals = propose_candidates(
                store.reader(), store.settings(), chosen, end - timedelta(days=365), end
            )
    labels = {c.key: c.label(lang) for c in proposals}
    # Pre-select what was proposed whenever the proposal changes (a widget keeps its old, empty value else).
    if st.session_state.get("new-meeting-proposed") != list(labels):
        st.session_state["new-meeting-proposed"] = list(labels)
        st.session_state["new-meeting-items"] = list(labels)
    keep = st.multiselect(_("Items to vote on (proposed from the last 12 months)"), list(labels),
                          format_func=labels.__getitem__, key="new-meeting-items")  # fmt: skip
    extra = st.text_area(_("More items, one per line"), key="new-meeting-extra", height=80)
    if st.button(_("Create meeting"), key="new-meeting-create", type="primary"):
        items = [c for c in proposals if c.key in keep]
        items += [custom_candidate(line.strip()) for line in extra.splitlines() if line.strip()]
        if not items:
            st.error(_("A meeting needs at least one item to vote on: keep a proposed item or write one."))
            st.stop()
        try:
            made = create_meeting(
                store.connection(), title=title, date=when, areas=chosen, actor=actor, candidates=items,
                rules=Rules(method="ranking" if method == "ranking" else "dots", budget=int(budget),
                            max_per_item=int(cap)),
            )  # fmt: skip
        except MeetingError as exc:
            st.error(plain(exc))
        else:
            st.session_state["meeting-pick"] = made.id  # the new meeting is the one shown below
            st.success(_("Meeting created. Join code: {code}").format(code=made.code))

meetings = list_meetings(store.reader())
if not meetings:
    st.stop()
status_words = {"draft": _("in preparation"), "open": _("voting open"), "closed": _("closed")}
by_id = {m.id: m for m in meetings}
# The choice is kept by meeting id, never by list position: a state change re-sorts nothing under the officer.
if st.session_state.get("meeting-pick") not in by_id:
    st.session_state["meeting-pick"] = meetings[0].id
picked = st.selectbox(
    _("Meeting"), list(by_id), key="meeting-pick",
    format_func=lambda i: f"{by_id[i].title} · {format_date(by_id[i].date, lang)} · {by_id[i].code} · "
                          f"{status_words[by_id[i].status]}",
)  # fmt: skip
meeting = by_id[picked]
st.subheader(plain(meeting.title))
st.write(
    plain(
        _("Join code {code} · phones open {url}").format(code=meeting.code, url=join_url(meeting.code, lang))
    )
)
st.page_link("views/meeting_screen.py", label=_("Open the meeting screen"), icon="📽️",
             query_params={"code": meeting.code})  # fmt: skip
STATE_CHANGES = {  # action -> (library call, the state it expects, what the button will do)
    "open": (open_meeting, "draft", _("Phones can vote from now on; the list of items is fixed.")),
    "close": (close_meeting, "open", _("Phones can no longer vote; the results become final.")),
    "reopen": (reopen_meeting, "closed", _("Phones can vote again; the ballots already cast stay.")),
}
BUTTONS = {"open": _("Open voting"), "close": _("Close voting"), "reopen": _("Reopen voting")}
DONE = {"open": _("Voting is open."), "close": _("Voting is closed."), "reopen": _("Voting is open again.")}


def _change(action: str, meeting_id: int, expect: str) -> None:
    """Run before the page is drawn again: the click acts on the meeting and state it was shown for, so a
    double click or a stale page changes nothing (the library is idempotent given the expected state)."""
    call = STATE_CHANGES[action][0]
    try:
        call(store.connection(), meeting_id, actor, expect=expect)
    except MeetingError as exc:
        st.session_state["meeting-message"] = ("error", str(exc))
    else:
        st.session_state["meeting-message"] = ("success", DONE[action])
    st.session_state["meeting-pick"] = meeting_id


# Each change has its own place on the page (a double click never lands on the next state's button).
actions = st.columns(3)
for slot, action in enumerate(("open", "close", "reopen")):
    expect = STATE_CHANGES[action][1]
    if meeting.status != expect:
        continue
    too_few = action == "open" and len(meeting.candidates) < 2
    actions[slot].button(BUTTONS[action], key=f"meeting-{action}", type="primary" if action != "reopen" else
                         "secondary", on_click=_change, args=(action, meeting.id, expect), disabled=too_few)  # fmt: skip
    actions[slot].caption(
        _("A meeting needs at least two items to vote on before it opens.")
        if too_few
        else STATE_CHANGES[action][2]
    )
message = st.session_state.pop("meeting-message", None)
if message:
    (st.error if message[0] == "error" else st.success)(plain(message[1]))

outcome = results(store.reader(), meeting.id)
st.markdown("**" + _("Results") + "**")
if outcome.ranking:
    st.dataframe(tally_table(outcome, lang), hide_index=True, width="stretch")
st.caption(group_summary(outcome))
st.caption(
    _(
        "Combined score: each group's share of its own points, weighted; a big group cannot outvote the others."
    )
)

phones_panel(meeting, outcome.ballots, actor)  # ballots beside the headcount, group codes, ballot slips

if meeting.status != "closed":
    with st.form("weights"):
        st.markdown("**" + _("Weights of the groups") + "**")
        weight_cols = st.columns(len(ROLES))
        weights = {
            role: weight_cols[i].number_input(
                role_label(role), 0.0, 10.0, float(meeting.weights.get(role, 1.0)), 0.5, key=f"weight-{role}"
            )  # fmt: skip
            for i, role in enumerate(ROLES)
        }
        if st.form_submit_button(_("Save weights"), key="weights-save"):
            try:
                set_weights(store.connection(), meeting.id, weights, actor)
            except MeetingError as exc:
                st.error(plain(exc))
            else:
                st.rerun()
if meeting.status == "open":
    with st.form("facilitator-count", clear_on_submit=True):
        st.markdown("**" + _("Add paper or show-of-hands counts") + "**")
        group = st.selectbox(_("Group"), ROLES, format_func=role_label, key="count-group")
        source = st.radio(_("Counted by"), ("hands", "paper"), horizontal=True, key="count-source",
                          format_func=lambda s: _("Show of hands") if s == "hands" else _("Paper"))  # fmt: skip
        counts = {
            c.key: st.number_input(plain(c.label(lang)), 0, 10_000, 0, key=f"count-{i}")
            for i, c in enumerate(meeting.candidates)
        }
        note = st.text_input(_("Note"), key="count-note", max_chars=200)
        if st.form_submit_button(_("Add count"), key="count-add"):
            try:
                add_facilitator_count(store.connection(), meeting.id, group, {k: int(v) for k, v in counts.items() if v},
                                      note, actor, source="paper" if source == "paper" else "hands")  # fmt: skip
            except MeetingError as exc:
                st.error(plain(exc))
            else:
                st.rerun()
if meeting.status == "closed":
    st.page_link("views/outcomes.py", label=_("Show \"You said, we did\" for this meeting"),
                 icon=":material/task_alt:", query_params={"meeting": str(meeting.id)})  # fmt: skip
if meeting.status == "closed" and outcome.ranking:
    st.markdown("**" + _("Turn an agreed priority into a problem card") + "**")
    ranks = rank_labels([r.rank for r in outcome.ranking])
    top = {
        r.candidate.key: f"{rank} {r.candidate.label(lang)}"
        for r, rank in zip(outcome.ranking, ranks, strict=True)
    }
    key = st.selectbox(_("Priority"), list(top), format_func=top.__getitem__, key="priority-pick")
    if st.button(_("Turn into a problem"), key="priority-to-problem"):
        from koban_geo.community.problems import ProblemError, create_problem

        try:
            problem_id = create_problem(store.connection(), store.settings(), actor=actor,
                                        candidate=(meeting.id, key))  # fmt: skip
        except (ProblemError, ValueError) as exc:
            st.error(plain(exc))
        else:
            st.success(_("Problem card {id} created.").format(id=problem_id))
if st.button(_("Prepare the meeting pack"), key="meeting-pack"):
    import tempfile
    from pathlib import Path

    from koban_geo.outputs.meeting_pack import meeting_pack

    with st.spinner(_("Preparing...")), tempfile.TemporaryDirectory() as folder:
        out = meeting_pack(store.connection(), store.settings(), meeting.id, lang,
                           Path(folder) / f"meeting-{meeting.code}.html", actor=actor)  # fmt: skip
        st.session_state["meeting-pack-file"] = (out.name, out.read_bytes())
pack = st.session_state.get("meeting-pack-file")
if pack:
    st.download_button(_("Download {name}").format(name=pack[0]), pack[1], file_name=pack[0],
                       mime="text/html", key="meeting-pack-download")  # fmt: skip
for count in outcome.facilitator_counts:
    st.text(f"{role_label(count.role)} · {count.source} · {count.added_at:%H:%M} · {count.note}")
