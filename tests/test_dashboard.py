"""The dashboard runs against a real store (Streamlit's AppTest; the real-browser tests come with the map)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from koban_geo.db import connect
from koban_geo.ingest import ingest_file
from tests.helpers import write_areas, write_text

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture
def store(tmp_path, settings, monkeypatch):
    con = connect(settings.db)
    ingest_file(con, settings, write_areas(tmp_path / "a.geojson"), kind="areas")
    ingest_file(
        con,
        settings,
        write_text(tmp_path / "c.csv", "id,date,lat,lon,theme\n1,2025-01-01,60.17,24.93,noise\n"),
    )
    con.close()
    monkeypatch.setenv("KOBAN_DB", str(settings.db))
    return settings.db


def test_app_shows_what_the_store_holds(store):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["concerns"] == "1" and metrics["areas"] == "2"


def test_app_explains_a_missing_store(tmp_path, monkeypatch):
    monkeypatch.setenv("KOBAN_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "koban-geo init" in at.error[0].value
