"""Residents' phone page (?meeting=CODE): no login, the meeting's items in the phone's language, one ballot
per phone (a new ballot replaces the old one). Works from 360 px wide."""

from __future__ import annotations

import secrets

import streamlit as st

from koban_geo.privacy.audience import Audience
from ui import auth, store
from ui.i18n import _, current_lang
from ui.layout import PHONE_CSS, plain, style
from ui.meeting import role_single, vote_error

style(PHONE_CSS)
TIER = auth.require(Audience.PUBLIC)  # this page renders the public tier only
lang = current_lang()

from koban_geo.community.meetings import ROLES, meeting_by_code  # noqa: E402
from koban_geo.community.voting import VoteError, ballot_of, cast_ballot  # noqa: E402

code = st.query_params.get("meeting", "")
if not code:
    st.title(_("Vote"))
    typed = st.text_input(_("Meeting code"), key="vote-code", max_chars=12)
    if st.button(_("Join"), key="vote-join", type="primary") and typed.strip():
        st.query_params["meeting"] = typed.strip().upper()
        st.rerun()
    st.stop()

meeting = meeting_by_code(store.reader(), code)
if meeting is None:
    st.error(_("No meeting has this code; check the code on the screen."))
    st.stop()

# One random token per phone, kept in the page address so a reload keeps the same ballot (no cookie, no login).
device = st.query_params.get("device")
if not device:
    device = secrets.token_urlsafe(16)
    st.query_params["device"] = device

st.title(plain(meeting.title))
st.caption(f"{meeting.date:%d.%m.%Y} · {meeting.code}")
if meeting.status != "open":
    st.info(
        _("Voting has not started yet; try again when the facilitator opens it.")
        if meeting.status == "draft"
        else _("Voting has closed for this meeting.")
    )
    if st.button(_("Refresh"), key="vote-refresh"):
        st.rerun()
    st.stop()

current = ballot_of(store.reader(), meeting.code, device)
items = {c.key: c.label(lang) for c in meeting.candidates}
role_names = [role_single(r) for r in ROLES]  # translated labels as the options themselves
picked_role = st.radio(
    _("I vote as"), role_names, horizontal=True, key=f"vote-role-{lang}",
    index=ROLES.index(current.role) if current else 0,
)  # fmt: skip
role = ROLES[role_names.index(picked_role)]
rules = meeting.rules
allocation: dict[str, int] | None = None  # dot voting: points per item
ranking: list[str] | None = None  # ranking: items in order
if rules.method == "dots":
    st.write(_("You have {budget} dots. Put at most {cap} on one item.").format(
        budget=rules.budget, cap=rules.max_per_item))  # fmt: skip
    dots: dict[str, int] = {}
    for i, (key, label) in enumerate(items.items()):
        before = int(current.points.get(key, 0)) if current else 0
        dots[key] = st.number_input(
            plain(label), min_value=0, max_value=rules.max_per_item, value=min(before, rules.max_per_item),
            step=1, key=f"vote-dots-{i}",
        )  # fmt: skip
    used = sum(dots.values())
    st.progress(min(used / rules.budget, 1.0), text=_("{used} of {budget} dots placed").format(
        used=used, budget=rules.budget))  # fmt: skip
    allocation = dots
else:
    st.write(_("Pick the items in your order of priority: first the most important."))
    start = list(current.ranking or ()) if current else []
    ranking = st.multiselect(
        _("My priorities"), list(items), default=[k for k in start if k in items],
        format_func=items.__getitem__, key="vote-ranking",
    )  # fmt: skip

if st.button(_("Send my vote"), key="vote-submit", type="primary"):
    try:
        receipt = cast_ballot(store.connection(), meeting.code, device, role, allocation, ranking=ranking)
    except VoteError as exc:
        st.error(vote_error(exc))
    except Exception:  # noqa: BLE001 - the phone must hear that its vote was not stored, and may retry
        st.error(_("Your vote was not saved. Please try again."))
    else:
        st.success(
            _("Your vote is counted. You changed it {n} times.").format(n=receipt.revision - 1)
            if receipt.replaced
            else _("Your vote is counted.")
        )
elif current:
    st.caption(_("You have voted. Sending again replaces your vote."))
