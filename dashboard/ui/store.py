"""The dashboard's one store connection and its settings.

DuckDB lets one process write a store file, so the dashboard server owns it: one read-write connection per
process (kept in web.process, shared with the login routes, out of reach of Streamlit's "clear cache"), one
cursor per script-run thread for reading (cursors are DuckDB's way to use one connection from many threads),
and koban_geo.store.sql.writing for every write (one serialised transaction).
A page that only reads asks for `reader()` and never writes through it; the CLI, while the server runs, is
refused with a clear "the store is open in the dashboard" message (koban_geo.store.db.StoreError).

Sites (koban_geo.store.sites): this module is the one place that decides the site a browser session works
in. `enter_site` (app.py, every run) picks it from the account's sites (a sidebar choice when it has several,
kept in the session); `reader()`, `connection()` and `settings()` then work in that site on every call, so a
page, a fragment rerun and a write all read and write the session's site and nothing else.
"""

from __future__ import annotations

import threading

import duckdb

from koban_geo.store.settings import Settings


def settings() -> Settings:
    """The typed settings (KOBAN_* environment, .env) of the session's site (its overrides applied)."""
    from koban_geo.store.sites import SiteError, site_settings
    from web import process

    base = process.settings()
    code = site()
    if code is None:
        return base
    try:
        return site_settings(process.connection(), base, code)
    except SiteError:
        return base


def connection() -> duckdb.DuckDBPyConnection:
    """This thread's handle on the process's read-write connection, working in the session's site: pass it
    to koban_geo functions that write (they serialise). A cursor with the store's TEMP macros (an export
    reads through them before it writes), made once per thread."""
    from koban_geo.store.sql import cursor
    from web import process

    con = process.connection()
    kept = getattr(_THREAD, "writer", None)
    if kept is None or kept[0] is not con:
        kept = _THREAD.writer = (con, cursor(con))
    return _bound(kept[1])


_THREAD = threading.local()
SITE_KEY = "koban_site"  # st.session_state: the session's site code
ROLE_KEY = "koban_site_role"  # st.session_state: the account's role in it


def site() -> str | None:
    """The site this browser session works in (None before one is known: queries then refuse to run)."""
    import streamlit as st
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:  # a background thread (map warm-up): no session
        return _only_site()
    value = st.session_state.get(SITE_KEY)
    return value if isinstance(value, str) else _only_site()


def _only_site() -> str | None:
    from koban_geo.store.sites import list_sites
    from web import process

    configured = process.settings().site
    codes = [s.code for s in list_sites(process.connection())]
    if configured in codes:
        return configured
    return codes[0] if len(codes) == 1 else None


def _bound(cur: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """`cur` working in the session's site (a thread's cursor serves every session that runs in it)."""
    from koban_geo.store.scope import bind_site, unbind_site

    code = site()
    if code is None:
        unbind_site(cur)
    else:
        bind_site(cur, code)
    return cur


def account_sites(account: object) -> list[tuple[str, str]]:
    """(site, role) of the sites an account works in. In a one-site store an account without a grant (made
    before sites) works in that site with its own role, as before."""
    from koban_geo.community.account_sites import sites_of
    from koban_geo.store.sites import list_sites
    from web import process

    con = process.connection()
    username, role = str(getattr(account, "username", "")), str(getattr(account, "role", ""))
    granted = [(code, str(r)) for code, r in sites_of(con, username)]
    if granted:
        return granted
    codes = [s.code for s in list_sites(con)]
    return [(codes[0], role)] if len(codes) == 1 else []


def enter_site(account: object | None) -> None:
    """Decide this run's site (app.py, before the page runs): for an account, its only site or the one chosen
    in the sidebar among its sites; for a visitor, the configured or only site (or the meeting's, set by the
    meeting screen through `visit_site`)."""
    import streamlit as st

    from ui.i18n import _

    if account is None:
        st.session_state.pop(ROLE_KEY, None)
        if st.session_state.get(SITE_KEY) is None:
            st.session_state.pop(SITE_KEY, None)
        return
    mine = account_sites(account)
    codes = [code for code, _role in mine]
    if not codes:
        st.session_state[SITE_KEY] = None
        st.session_state[ROLE_KEY] = None
        return
    current = st.session_state.get(SITE_KEY)
    if current not in codes:
        current = codes[0]
    if len(codes) > 1:
        with st.sidebar:
            current = st.selectbox(_("Site"), codes, index=codes.index(current), key="koban-site-choice")
    st.session_state[SITE_KEY] = current
    st.session_state[ROLE_KEY] = dict(mine)[current]


def visit_site(code: str) -> None:
    """A visitor who is not logged in looks at a public page of site `code` (a meeting screen by its code)."""
    import streamlit as st

    st.session_state[SITE_KEY] = code


def site_role() -> str | None:
    """The logged-in account's role in the session's site (None: not logged in, or in no site)."""
    import streamlit as st

    value = st.session_state.get(ROLE_KEY)
    return value if isinstance(value, str) else None


def reader() -> duckdb.DuckDBPyConnection:
    """This thread's cursor (reads only). Streamlit runs each script run in a thread of its own, so this is one
    cursor per run, made on the first read: a cursor's TEMP macros take ~10 ms to register, and a page reads
    through `reader()` ten to forty times (py-spy: about half of a cached map page's server time went there).
    A cursor is never shared between threads; a new connection (after a restore) gets a new cursor."""
    from koban_geo.store.sql import cursor
    from web import process

    con = process.connection()
    kept = getattr(_THREAD, "cursor", None)
    if kept is not None and kept[0] is con:
        return _bound(kept[1])
    cur = cursor(con)
    _THREAD.cursor = (con, cur)
    return _bound(cur)


def data_version() -> str:
    """Changes whenever the counted concerns change: the key of every cached analytics result. It starts
    with the session's site, so no cached result of one site is ever served to another."""
    from koban_geo.store.stats import data_version as version

    return f"{site() or '-'}:{version(reader())}"
