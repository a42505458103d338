"""KOBAN Geo dashboard entry point (placeholder until the dashboard issue lands): the store at a glance."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from koban_geo.settings import get_settings
from koban_geo.stats import store_stats


@st.cache_resource
def _connection(db: str):
    from koban_geo.db import connect

    return connect(Path(db), read_only=True)


def main() -> None:
    st.set_page_config(page_title="KOBAN Geo", layout="wide")
    settings = get_settings(db=os.environ.get("KOBAN_DB"))
    st.title("KOBAN Geo")
    st.caption(
        "Neighbourhood problem map for community policing: the map, meeting mode and exports are on the way."
    )
    try:
        con = _connection(str(settings.db))
    except Exception as exc:  # noqa: BLE001 - shown to the user instead of a traceback
        st.error(f"The store cannot be opened: {exc}")
        return
    report = store_stats(con.cursor())
    st.subheader("What the store holds")
    cols = st.columns(4)
    for col, table in zip(cols, ("concerns", "crime", "areas", "layers"), strict=True):
        col.metric(table, f"{report['tables'][table]:,}")
    st.subheader("Concerns per theme")
    st.bar_chart(report["themes"], horizontal=True)


main()
