"""Log in (the server's login form, or the organisation's single sign-on), or see who you are and log out."""

from __future__ import annotations

import streamlit as st

from ui import auth
from ui.i18n import _
from ui.text import plain

account = auth.current()
if account is not None:
    st.title(_("Account"))
    st.write(plain(_("Logged in as {user} ({role}).").format(user=account.username, role=account.role)))
    if auth.cookie_account() is not None:
        auth.logout_form()  # a local login: the server revokes the session and clears its cookie
    elif st.button(_("Log out"), key="logout"):  # single sign-on
        auth.logout()
        st.rerun()
else:
    st.title(_("Log in"))
    if auth.ended():
        st.warning(_("Your session has ended. Please log in again."))
    auth.login_button(key="login-link", back_to="/")
    auth.sso_button()
    st.caption(_("Residents do not need an account: open the meeting link or scan the code on the screen."))
