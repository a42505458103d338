"""The dashboard's own HTTP layer beside Streamlit: Starlette routes and middleware mounted by `server.py`.

Owns what must happen outside a Streamlit session (headers on every response, cookies set by the server,
files served with range requests, the phones' vote page). It may import `koban_geo` and Starlette, never
Streamlit pages or `ui` (except `ui.i18n`'s plain-Python catalogue lookup: one set of translations).
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from web.headers import SecurityHeaders
from web.phone import phone_routes

__all__ = ["middleware", "routes"]


def routes() -> list[BaseRoute]:
    """The app's own routes, checked by st.App against Streamlit's reserved ones."""
    return [*phone_routes()]


def middleware() -> list[Middleware]:
    """Middleware run before Streamlit's own, outermost first."""
    return [Middleware(SecurityHeaders)]
