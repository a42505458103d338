"""The problem card's Analysis tab under Streamlit's AppTest on the demo store: risk factors for the card's
themes around the open-data layers, and the near-repeat table for a burglary card, in the session's language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from koban_geo.community.accounts import add_user, start_session
from koban_geo.community.problems import create_problem
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from tests.test_dashboard import _app


@pytest.fixture(scope="module")
def site(demo_db, tmp_path_factory):
    """The demo store with an officer and one problem card about drugs and burglary in the busiest area."""
    db = tmp_path_factory.mktemp("analysis") / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db)
    con = connect(db)
    add_user(con, "olli", "a long officer passphrase", "officer", actor="test")
    token = start_session(con, settings, "olli")
    (area,) = con.execute(
        "SELECT area_code FROM concerns GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    create_problem(
        con, settings, actor="olli", title="Dealing and break-ins", themes=["drugs", "burglary"], area=area
    )
    con.close()
    return db, token


def _page(monkeypatch, db: Path, token: str, lang: str = "en") -> AppTest:
    """Straight to the problems page (the map is not needed here), logged in as test_dashboard's pages are."""
    at = _app(monkeypatch, db, token, lang=lang)
    at.default_timeout = 180
    return at.switch_page("views/problems.py").run()


def _texts(at: AppTest) -> str:
    return "\n".join(
        str(e.value) for kind in ("subheader", "markdown", "caption", "info") for e in getattr(at, kind)
    )


def test_analysis_tab_shows_risk_factors_and_near_repeats(site, monkeypatch):
    db, token = site
    at = _page(monkeypatch, db, token)
    assert not at.exception, at.exception
    text = _texts(at).replace("\\", "").replace("\u2060", "")  # as Markdown shows plain() text: escapes gone
    assert "Why here? Risk factors" in text and "Why now? Near repeats" in text
    assert "times as dense" in text  # a risk sentence for the demo's layers
    assert "Burglary:" in text and "events" in text and "cells significant at 5 %" in text
    assert "Knox ratio" in text
    tables = [df.value for df in at.dataframe]
    risk = next(t for t in tables if "Relative risk" in t.columns)
    assert set(risk["Layer"]) <= {"Licensed premises", "Street lights", "Streets"} and len(risk) >= 2  # words
    knox = next(t for t in tables if "0–7 days" in t.columns)
    assert list(knox.index)[:2] == ["0–100 m", "101–200 m"] and "more than 400 m" in list(knox.index)
    # fewer layers: the table follows the choice
    at.multiselect(key="risk-layers").set_value(["licensed_premises"]).run()
    risk = next(df.value for df in at.dataframe if "Relative risk" in df.value.columns)
    assert set(risk["Layer"]) == {"Licensed premises"}


def test_analysis_tab_speaks_the_session_language(site, monkeypatch):
    db, token = site
    at = _page(monkeypatch, db, token, lang="fi")
    assert not at.exception, at.exception
    text = _texts(at)
    assert "Miksi täällä? Riskitekijät" in text and "Miksi nyt? Lähitoistumat" in text
    assert any("Suhteellinen riski" in df.value.columns for df in at.dataframe)
