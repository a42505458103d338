"""The dashboard's own HTTP layer beside Streamlit: Starlette routes and middleware mounted by `server.py`.

Owns what must happen outside a Streamlit session (headers on every response, the login form and the session
cookie it sets, the phones' vote page and its device cookie, state no client message can clear in
`web.process`). It may import `koban_geo`, Starlette and the message catalogue `ui.i18n` (which imports no
Streamlit at module level), never Streamlit pages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from web import login
from web.headers import SecurityHeaders
from web.phone import PhoneFirst, phone_routes
from web.tiles import tile_routes

__all__ = ["lifespan", "middleware", "routes"]


def routes() -> list[BaseRoute]:
    """The app's own routes, checked by st.App against Streamlit's reserved ones."""
    return [*login.routes(), *tile_routes(), *phone_routes()]


def middleware() -> list[Middleware]:
    """Middleware run before Streamlit's own, outermost first."""
    return [Middleware(SecurityHeaders), Middleware(PhoneFirst), Middleware(login.StaffPages)]


def _warm_up() -> None:
    """Open the store connection before the first request (its imports and checks take about a second:
    the phones of a "vote now" moment must not all wait for them)."""
    from web import process

    try:
        process.connection()
    except Exception as exc:  # noqa: BLE001 - no store yet: the pages say so themselves
        logging.getLogger(__name__).warning("store not opened at start-up: %s", exc)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """st.App's start-up hook: warm the store connection in a thread, then serve."""
    await asyncio.to_thread(_warm_up)
    yield
