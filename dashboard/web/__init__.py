"""The dashboard's own HTTP layer beside Streamlit: Starlette routes and middleware mounted by `server.py`.

Owns what must happen outside a Streamlit session (headers on every response, cookies set by the server,
files served with range requests). It may import `koban_geo` and Starlette, never Streamlit pages or `ui`.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from web.headers import SecurityHeaders
from web.tiles import tile_routes

__all__ = ["middleware", "routes"]


def routes() -> list[BaseRoute]:
    """The app's own routes, checked by st.App against Streamlit's reserved ones."""
    return [*tile_routes()]


def middleware() -> list[Middleware]:
    """Middleware run before Streamlit's own, outermost first."""
    return [Middleware(SecurityHeaders)]
