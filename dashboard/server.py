"""The dashboard's ASGI application: Streamlit's pages (app.py) with the app's own routes and middleware.

`koban-geo serve` runs `streamlit run dashboard/server.py`; Streamlit 1.67 finds the `st.App` below and serves
the pages of app.py beside the routes and middleware listed in the `web` package (plain Starlette, no session:
security headers now; session cookies, basemap tiles and the phones' page join them there).
"""

from __future__ import annotations

import streamlit as st

from web import lifespan, middleware, routes

app = st.App("app.py", routes=routes(), middleware=middleware(), lifespan=lifespan)
