"""Log in (local account or the organisation's single sign-on), or see who you are and log out."""

from __future__ import annotations

import streamlit as st

from ui import auth
from ui.i18n import _

account = auth.current()
if account is not None:
    st.title(_("Account"))
    st.write(_("Logged in as {user} ({role}).").format(user=account.username, role=account.role))
    if st.button(_("Log out"), key="logout"):
        auth.logout()
        st.rerun()
else:
    st.title(_("Log in"))
    if st.session_state.pop("koban-expired", False):
        st.warning(_("Your session has ended. Please log in again."))
    with st.form("login", enter_to_submit=True):
        username = st.text_input(_("User name"), key="login-user", autocomplete="username")
        password = st.text_input(_("Password"), type="password", key="login-password",
                                 autocomplete="current-password")  # fmt: skip
        submitted = st.form_submit_button(_("Log in"), key="login-submit", type="primary")
    if submitted:
        problem = auth.login(username.strip().lower(), password)
        if problem == "throttled":
            st.error(_("Too many attempts. Please wait a minute and try again."))
        elif problem:
            st.error(_("Login failed: wrong user name or password, or the account is locked for a while."))
        else:
            st.session_state["koban-just-logged-in"] = True
            st.rerun()
    auth.sso_button()
    st.caption(_("Residents do not need an account: open the meeting link or scan the code on the screen."))
