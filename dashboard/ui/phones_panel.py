"""The meetings page's "phones" panel: ballots beside the headcount, the group codes to hand out, and ballot
slips (koban_geo.community.admission). One call from views/meetings.py."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import store
from ui.i18n import _, current_lang


def phones_panel(meeting: Any, ballots: int, actor: str) -> None:
    """Show and edit how phones take part in `meeting` (a koban_geo Meeting); `ballots` cast so far."""
    from koban_geo.community.admission import (
        MAX_HEADCOUNT,
        group_codes,
        issue_slips,
        phone_rules,
        set_headcount,
    )
    from koban_geo.community.meetings import MeetingError
    from koban_geo.outputs.slip_sheet import slip_sheet

    rules = phone_rules(store.reader(), meeting.id)
    st.markdown("**" + _("Phones") + "**")
    cols = st.columns(2)
    cols[0].metric(_("Ballots"), ballots)
    with cols[1].form(f"headcount-{meeting.id}", border=False):
        people = st.number_input(_("People in the room"), 0, MAX_HEADCOUNT, int(rules.headcount or 0), 1,
                                 key=f"headcount-{meeting.id}-value")  # fmt: skip
        if st.form_submit_button(_("Save headcount"), key=f"headcount-{meeting.id}-save"):
            set_headcount(store.connection(), meeting.id, int(people), actor)
            st.rerun()
    if rules.headcount is not None and ballots > rules.headcount:
        st.warning(_("More ballots than people in the room: some phones may have voted twice (a private window "
                     "starts a new phone). Ballot slips prevent this."))  # fmt: skip
    codes = group_codes(store.connection(), meeting.id, actor)
    st.write(_("Group codes to hand out in the room: officers {officer}, partners {partner}. A phone without "
               "one votes as a resident.").format(officer=codes["officer"], partner=codes["partner"]))  # fmt: skip
    if rules.slips_required:
        st.caption(_("Ballot slips: {used} of {issued} used. A phone needs an unused slip for its first ballot.")
                   .format(used=rules.slips_redeemed, issued=rules.slips_issued))  # fmt: skip
    else:
        st.caption(_("One ballot per phone (a cookie): a rescan edits the same ballot, but a private window "
                     "can vote again. Issue ballot slips before voting opens for strict one person, one vote."))  # fmt: skip
    if meeting.status == "closed" or (meeting.status == "open" and not rules.slips_required):
        return
    slip_cols = st.columns([1, 2])
    count = slip_cols[0].number_input(_("Slips"), 1, 2000, 50, key=f"slips-{meeting.id}-count")
    if slip_cols[1].button(_("Issue ballot slips"), key=f"slips-{meeting.id}-issue"):
        try:
            slips = issue_slips(store.connection(), meeting.id, int(count), actor)
        except MeetingError as exc:
            st.error(str(exc))
        else:
            printed = slip_sheet(meeting, slips, store.settings().public_url or "", current_lang())
            st.session_state[f"slips-{meeting.id}-sheet"] = printed
    sheet: str | None = st.session_state.get(f"slips-{meeting.id}-sheet")
    if sheet:
        st.download_button(_("Download the slips to print (shown once)"), sheet.encode(),
                           file_name=f"slips-{meeting.code}.html", mime="text/html",
                           key=f"slips-{meeting.id}-download")  # fmt: skip
