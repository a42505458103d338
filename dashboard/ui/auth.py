"""Who is looking: local accounts (koban_geo.community.accounts) or the organisation's single sign-on (st.login).

Each page declares the audience tier it renders with `require(tier)`; a visitor who is not logged in is the
`public` tier and reaches only the public pages (meeting screen, phone vote, "you said, we did").
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from koban_geo.privacy.audience import Audience
from ui import store
from ui.i18n import _

# Which tiers a user of a given tier may render (an officer can preview what the public sees).
RANK = {Audience.PUBLIC: 0, Audience.COUNCIL: 1, Audience.OFFICER: 2, Audience.ANALYST: 3}
_TOKEN = "koban-session"


def current() -> Any | None:
    """The logged-in account of this browser session, or None (expired and revoked sessions end here)."""
    from koban_geo.community.accounts import session_user

    token = st.session_state.get(_TOKEN)
    if token:
        account = session_user(store.reader(), token)
        if account is not None:
            return account
        st.session_state.pop(_TOKEN, None)
        st.session_state["koban-expired"] = True
    return _oidc_account()


def tier() -> Audience:
    """The highest tier this visitor may see."""
    from koban_geo.community.accounts import audience_for

    account = current()
    return audience_for(account.role) if account is not None else Audience.PUBLIC


def require(needed: Audience) -> Audience:
    """Stop the page unless the visitor may see tier `needed`; returns the visitor's own tier."""
    have = tier()
    if RANK[have] < RANK[needed]:
        st.warning(_("Please log in to see this page."))
        st.page_link(st.session_state["koban-login-page"], label=_("Log in"), icon=":material/login:")
        st.stop()
    return have


def previewable(have: Audience) -> list[Audience]:
    """The tiers a user may preview, own tier first (officers check what the meeting screen will show)."""
    return [a for a in sorted(RANK, key=RANK.__getitem__, reverse=True) if RANK[a] <= RANK[have]]


@st.cache_resource(show_spinner=False)
def _throttles() -> dict[str, Any]:
    """Per-process login throttles: one browser session, one client address, and the server as a whole."""
    from koban_geo.community.throttle import Throttle

    return {
        "session": Throttle(limit=5, window_s=60),
        "client": Throttle(limit=20, window_s=300),
        "server": Throttle(limit=100, window_s=60),
    }


def _throttle_keys() -> dict[str, str]:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    client = str(getattr(st.context, "ip_address", None) or "unknown")
    return {"session": ctx.session_id if ctx else "none", "client": client, "server": "all"}


def login(username: str, password: str) -> str | None:
    """Log in; on failure return a message that does not say whether the user exists.

    Too many failures from this session, this client or the whole server within a minute or so are refused
    before any password is checked (the account lock-out in koban_geo.community.accounts guards each account)."""
    from koban_geo.community.accounts import LoginError, authenticate, start_session
    from koban_geo.store.sql import audit, writing

    throttles, keys = _throttles(), _throttle_keys()
    if any(throttles[name].blocked(key) for name, key in keys.items()):
        with writing(store.connection()) as cur:
            audit(cur, "anonymous", "login_throttled", f"client={keys['client']}")
        return "throttled"
    con = store.connection()
    try:
        account = authenticate(con, store.settings(), username, password)
    except LoginError as exc:
        for name, key in keys.items():
            throttles[name].failed(key)
        return str(exc)
    st.session_state[_TOKEN] = start_session(con, store.settings(), account.username)
    st.session_state.pop("koban-expired", None)
    return None


def logout() -> None:
    from koban_geo.community.accounts import end_session

    token = st.session_state.pop(_TOKEN, None)
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
