"""Who is looking: local accounts (koban_geo.community.accounts) or the organisation's single sign-on (st.login).

Each page declares the audience tier it renders with `require(tier)`; a visitor who is not logged in is the
`public` tier and reaches only the public pages (meeting screen, phone vote, "you said, we did"). The login
itself happens on the server (web.login sets an HttpOnly session cookie); here each run reads that cookie
(st.context.cookies) and asks the store whether its session is still live.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from koban_geo.privacy.audience import Audience
from ui import store
from ui.i18n import _, current_lang

# Which tiers a user of a given tier may render (an officer can preview what the public sees).
RANK = {Audience.PUBLIC: 0, Audience.COUNCIL: 1, Audience.OFFICER: 2, Audience.ANALYST: 3}


def session_cookie() -> str | None:
    """The session cookie this browser sent when it opened the page (the server set it at login)."""
    from web.session import COOKIE

    value = st.context.cookies.get(COOKIE)
    return value if isinstance(value, str) and value else None


def cookie_account() -> Any | None:
    """The account of this browser's session cookie, if the store says the session is live."""
    from koban_geo.community.accounts import session_user
    from web import process
    from web.session import token_from_cookie

    token = token_from_cookie(session_cookie(), process.session_key())
    return session_user(store.reader(), token) if token else None


def current() -> Any | None:
    """The logged-in account of this browser, or None; the store is asked on every run, so a session
    that expired, or ended in another tab, ends here too."""
    return cookie_account() or _oidc_account()


def ended() -> bool:
    """True when this browser holds a session cookie that is no longer live (logged out, expired)."""
    return session_cookie() is not None and cookie_account() is None


def tier() -> Audience:
    """The highest tier this visitor may see: the account's role in the session's site (ui.store); an
    account in none of the store's sites sees only the public pages."""
    from koban_geo.community.accounts import audience_for

    account = current()
    if account is None:
        return Audience.PUBLIC
    role = store.site_role() or dict(store.account_sites(account)).get(store.site() or "")
    return audience_for(role) if role else Audience.PUBLIC


def here() -> str:
    """This page's address on the site (path and query), for a login that comes back to it."""
    from urllib.parse import urlsplit

    parts = urlsplit(str(getattr(st.context, "url", "") or ""))
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def login_button(*, key: str = "login-link", back_to: str | None = None) -> None:
    """A link to the login form (a server page: it sets the cookie), which comes back to `back_to`. A plain
    link in this tab (st.link_button and Markdown links would open a new tab)."""
    from html import escape

    from web.login import login_url

    url = login_url(back_to or here(), current_lang())
    st.html(
        f'<a class="koban-login" data-testid="{escape(key, quote=True)}" href="{escape(url, quote=True)}"'
        f' target="_self">{escape(_("Log in"))}</a>'
        "<style>.koban-login { display: inline-block; padding: .45rem 1rem; border-radius: .5rem;"
        " background: #ff4b4b; color: #fff !important; text-decoration: none; font-weight: 600; }</style>"
    )


def require(needed: Audience) -> Audience:
    """Stop the page unless the visitor may see tier `needed`; returns the visitor's own tier."""
    have = tier()
    if RANK[have] < RANK[needed]:
        if ended():
            st.warning(_("Your session has ended. Please log in again."))
        else:
            st.warning(_("Please log in to see this page."))
        login_button(key="require-login")
        st.stop()
    return have


def previewable(have: Audience) -> list[Audience]:
    """The tiers a user may preview, own tier first (officers check what the meeting screen will show)."""
    return [a for a in sorted(RANK, key=RANK.__getitem__, reverse=True) if RANK[a] <= RANK[have]]


def logout_form() -> None:
    """A "Log out" button: a form posted to the server, which revokes the session in the store (every tab
    with this cookie is logged out at its next run) and clears the cookie."""
    from html import escape

    from web.login import LOGOUT, logout_token

    value = session_cookie()
    if value is None:
        return
    st.html(
        f'<form method="post" action="{LOGOUT}" class="koban-logout">'
        f'<input type="hidden" name="csrf" value="{escape(logout_token(value), quote=True)}">'
        f'<input type="hidden" name="lang" value="{escape(current_lang(), quote=True)}">'
        f'<button type="submit" data-testid="logout">{escape(_("Log out"))}</button></form>'
        "<style>.koban-logout button { padding: .45rem 1rem; border-radius: .5rem; border: 1px solid #bbb;"
        " background: #fff; font-size: 1rem; cursor: pointer; }</style>"
    )


def logout() -> None:
    """End this browser's session in the store (and the single sign-on session, if any)."""
    from koban_geo.community.accounts import end_session
    from web import process
    from web.session import token_from_cookie

    token = token_from_cookie(session_cookie(), process.session_key())
    if token:
        end_session(store.connection(), token)
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False
    except Exception:  # noqa: BLE001 - a malformed secrets file means no SSO, said on the login page
        return False


def _oidc_account() -> Any | None:
    """An SSO user maps to the local account whose username is their e-mail (its role decides the tier)."""
    if not _oidc_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    from koban_geo.community.accounts import account_for_sso

    email = str(st.user.get("email") or "").lower()
    return account_for_sso(store.reader(), email) if email else None


def sso_button() -> None:
    if _oidc_configured():
        st.button(_("Log in with your organisation"), key="login-sso", on_click=st.login)
