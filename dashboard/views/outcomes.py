"""You said, we did: for each closed meeting, the priorities chosen and what was done about them, in the
residents' languages, public tier only (no personal data, no counts under k)."""

from __future__ import annotations

import streamlit as st

from koban_geo.privacy.audience import Audience
from koban_geo.store.i18n import format_date
from ui import auth, store
from ui.filters import theme_label
from ui.i18n import _, current_lang
from ui.meeting import rank_labels
from ui.problems import action_statuses
from ui.text import plain

TIER = auth.require(Audience.PUBLIC)  # this page renders the public tier only
lang = current_lang()

from koban_geo.community.meetings import list_meetings  # noqa: E402
from koban_geo.community.problem_card import card  # noqa: E402
from koban_geo.community.problems import get_problem, list_problems  # noqa: E402
from koban_geo.outputs.export import build  # noqa: E402

st.title(_("You said, we did"))
closed = [m for m in list_meetings(store.reader()) if m.status == "closed"]
if not closed:
    st.info(_("No meeting has closed yet."))
    st.stop()
by_id = {m.id: m for m in closed}
asked = st.query_params.get("meeting")  # the meetings page links here with ?meeting=<id>
if asked and asked.isdigit() and int(asked) in by_id and "outcomes-meeting" not in st.session_state:
    st.session_state["outcomes-meeting"] = int(asked)
picked = st.selectbox(_("Meeting"), list(by_id), key="outcomes-meeting",
                      format_func=lambda i: f"{by_id[i].title} ({format_date(by_id[i].date, lang)})")  # fmt: skip
meeting = by_id[picked]
layer = build(
    store.reader(), store.settings(), "priorities", Audience.PUBLIC, meeting_id=meeting.id, lang=lang
)
st.subheader(_("You said"))
ranked = sorted(layer.rows, key=lambda r: r[1].get("rank") or 99)
for (_geom, props), rank in zip(ranked, rank_labels([p.get("rank") for _g, p in ranked]), strict=True):
    st.text(f"{rank} {props['label']}" if rank else f"• {props['label']}")  # ties once: "2=" twice
if ranked and ranked[0][1].get("rank") is None:
    st.caption(_("Too few phones voted to publish the order."))

st.subheader(_("We did"))
ACTION_STATUS = action_statuses()
shown = 0
for problem_id in list_problems(store.reader())["id"]:
    problem = get_problem(store.reader(), int(problem_id))
    if problem.origin != "candidate" or not str(problem.origin_ref or "").startswith(f"{meeting.id}:"):
        continue
    view = card(store.reader(), store.settings(), problem, audience=Audience.PUBLIC)
    if view is None:
        continue
    shown += 1
    props = view.properties
    named = ", ".join(theme_label(t, lang) for t in props["themes"])
    title = str(props["title"] or "")
    # "Drugs · Drugs" says nothing twice: the themes follow only a title that does not already name them.
    st.markdown(
        f"**{plain(title)}**" + ("" if title.casefold() == named.casefold() else f" · {plain(named)}")
    )
    for action in props.get("actions", []):
        st.text(
            f"• {action['description']} — {action['owner_org']} ({ACTION_STATUS.get(action['status'], action['status'])})"
        )
    if props.get("assessment"):
        st.caption(plain(props["assessment"]["verdict"]))
if not shown:
    st.write(_("Work on these priorities has not started yet."))
st.caption(layer.meta["precision_note"])
