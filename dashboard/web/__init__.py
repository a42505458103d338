"""The dashboard's own HTTP layer beside Streamlit: Starlette routes and middleware mounted by `server.py`.

Owns what must happen outside a Streamlit session (headers on every response, the login form and the session
cookie it sets, the phones' vote page and its device cookie, state no client message can clear in
`web.process`). It may import `koban_geo`, Starlette and the message catalogue `ui.i18n` (which imports no
Streamlit at module level), never Streamlit pages.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from web import login
from web.headers import SecurityHeaders
from web.phone import phone_routes
from web.tiles import tile_routes

__all__ = ["middleware", "routes"]


def routes() -> list[BaseRoute]:
    """The app's own routes, checked by st.App against Streamlit's reserved ones."""
    return [*login.routes(), *tile_routes(), *phone_routes()]


def middleware() -> list[Middleware]:
    """Middleware run before Streamlit's own, outermost first."""
    return [Middleware(SecurityHeaders), Middleware(login.StaffPages)]
