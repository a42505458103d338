"""KOBAN Geo dashboard: the navigation, and nothing else (pages live in views/, shared parts in ui/).

Run with `koban-geo serve` (or `streamlit run dashboard/app.py` from the repository root).
A visitor who is not logged in reaches only the public pages: the meeting screen, the phone vote and
"you said, we did"; officers, analysts, council users and admins log in (see docs/accounts.md).
"""

from __future__ import annotations

import streamlit as st

from koban_geo.audience import Audience
from ui import auth, store
from ui.i18n import _, language_switch
from ui.layout import friendly_errors

st.set_page_config(page_title="KOBAN Geo", page_icon="🗺️", layout="wide")


def _pages(tier: Audience) -> list[st.Page]:
    phone_first = "meeting" in st.query_params
    public = [
        st.Page("views/vote.py", title=_("Vote"), icon="🗳️", url_path="vote", default=phone_first),
        st.Page("views/meeting_screen.py", title=_("Meeting screen"), icon="📽️", url_path="screen"),
        st.Page("views/outcomes.py", title=_("You said, we did"), icon="✅", url_path="outcomes"),
    ]
    login = st.Page("views/login.py", title=_("Log in") if tier == Audience.PUBLIC else _("Account"),
                    icon="🔑", url_path="login", default=not phone_first and tier == Audience.PUBLIC)  # fmt: skip
    st.session_state["koban-login-page"] = login
    if tier == Audience.PUBLIC:
        return [*public, login]
    staff = [
        st.Page("views/officer_map.py", title=_("Problem map"), icon="🗺️", url_path="map",
                default=not phone_first),  # fmt: skip
        st.Page("views/meetings.py", title=_("Meetings"), icon="👥", url_path="meetings"),
        st.Page("views/problems.py", title=_("Problems (SARA)"), icon="🧩", url_path="problems"),
        st.Page("views/exports.py", title=_("Exports"), icon="⬇️", url_path="exports"),
    ]
    account = auth.current()
    if account is not None and account.is_admin:
        staff.append(st.Page("views/admin.py", title=_("Accounts"), icon="🛡️", url_path="admin"))
    return [*staff, *public, login]


def main() -> None:
    with friendly_errors():
        store.connection()  # a missing or locked store is said plainly, before any page runs
        tier = auth.tier()
        with st.sidebar:
            language_switch()
        page = st.navigation(_pages(tier))
        page.run()


main()
