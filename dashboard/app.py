"""KOBAN Geo dashboard: the navigation, and nothing else (pages live in views/, shared parts in ui/).

Run with `koban-geo serve` (or `streamlit run dashboard/app.py` from the repository root).
A visitor who is not logged in reaches only the public pages: the meeting screen and "you said, we did"
(phones vote on /vote, the app's own HTML page); officers, analysts, council users and admins log in (see
docs/accounts.md).
"""

from __future__ import annotations

import streamlit as st

from koban_geo.privacy.audience import Audience
from ui import auth, store
from ui.i18n import _, language_switch
from ui.layout import BASE_CSS, friendly_errors, style
from ui.map.warmup import warm_default_maps

st.set_page_config(page_title="KOBAN Geo", page_icon="🗺️", layout="wide")


def _pages(tier: Audience) -> list[st.Page]:
    # The default page is served at "/" (Streamlit ignores its url_path): for the public it is the login,
    # for staff the map. Phones open /vote?meeting=CODE: a plain HTML page of the app's own (web/phone.py),
    # no Streamlit session. A page load of a staff address without a live session never gets here: the
    # server sends it to its login form (web.login).
    public = [
        st.Page(
            "views/meeting_screen.py",
            title=_("Meeting screen"),
            icon=":material/co_present:",
            url_path="screen",
        ),  # fmt: skip
        st.Page(
            "views/outcomes.py", title=_("You said, we did"), icon=":material/task_alt:", url_path="outcomes"
        ),
    ]
    login = st.Page("views/login.py", title=_("Log in") if tier == Audience.PUBLIC else _("Account"),
                    icon=":material/login:", url_path="login", default=tier == Audience.PUBLIC)  # fmt: skip
    if tier == Audience.PUBLIC and not auth.ended():
        return [*public, login]
    staff = [
        st.Page(
            "views/officer_map.py",
            title=_("Problem map"),
            icon=":material/map:",
            url_path="map",
            default=tier != Audience.PUBLIC,
        ),  # fmt: skip
        st.Page("views/meetings.py", title=_("Meetings"), icon=":material/groups:", url_path="meetings"),
        st.Page(
            "views/problems.py", title=_("Problems (SARA)"), icon=":material/extension:", url_path="problems"
        ),
        st.Page("views/exports.py", title=_("Exports"), icon=":material/download:", url_path="exports"),
    ]
    account = auth.current()
    if account is not None and account.is_admin:
        staff.append(st.Page("views/admin.py", title=_("Accounts"), icon=":material/shield_person:",
                             url_path="admin"))  # fmt: skip
    if (
        tier == Audience.PUBLIC
    ):  # a session that ended in another tab: the open page says so (ui.auth.require)
        return [login, *public, *staff]
    return [*staff, *public, login]


def main() -> None:
    with friendly_errors():
        store.connection()  # a missing or locked store is said plainly, before any page runs
        warm_default_maps()  # once per process, in the background
        store.enter_site(auth.current())  # the session's site: every page reads and writes only in it
        tier = auth.tier()
        style(BASE_CSS)
        with st.sidebar:
            language_switch()
        pages = _pages(tier)
        st.navigation(pages).run()


main()
