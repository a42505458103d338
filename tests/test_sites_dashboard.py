"""The dashboard in a store with two sites: a session works in one site (the account's only one, or the one
picked in the sidebar), every page reads it alone, and the public meeting screen shows a meeting of any site
by its join code. AppTest against a copy of the demo store with a second site."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from koban_geo.community.accounts import add_user, start_session
from koban_geo.community.meetings import create_meeting, open_meeting, theme_candidate
from koban_geo.store.db import connect
from koban_geo.store.scope import bind_site
from koban_geo.store.settings import Settings
from koban_geo.store.sites import add_site
from tests.helpers import dashboard_app

GENT_TITLE = "Gent wijkoverleg zuid"
DEMO_TITLE = "Kamppi evening round"


@pytest.fixture(scope="module")
def two_sites(demo_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("two-sites") / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db)
    con = connect(db)
    add_user(con, "deb", "a long officer passphrase", "officer", actor="test")  # bound: the demo's site
    demo_areas = [r[0] for r in con.execute("SELECT code FROM areas ORDER BY code LIMIT 2").fetchall()]
    create_meeting(con, title=DEMO_TITLE, date=date(2026, 12, 21), areas=demo_areas, actor="deb",
                   candidates=[theme_candidate(t) for t in ("noise", "litter")])  # fmt: skip
    add_site(con, "gent", "Gent", actor="test")
    add_user(con, "gus", "a long officer passphrase", "officer", actor="test", sites=[("gent", "officer")])
    add_user(con, "mia", "a long officer passphrase", "officer", actor="test",
             sites=[("default", "officer"), ("gent", "council")])  # fmt: skip
    bind_site(con, "gent")
    con.execute(
        "INSERT INTO ingest_batches (id, kind, format, file_name, sha256, rows_read, rows_accepted, rows_rejected,"
        " rows_duplicate, parameters, errors, started_at, finished_at, site) VALUES (9999, 'areas', 'test', 't',"
        " 'x', 0, 0, 0, 0, '{}', '[]', now(), now(), 'gent')"
    )
    con.execute(
        "INSERT INTO areas (code, name, geom, batch_id, site) VALUES ('G-1', 'Sint-Pietersnieuw', "
        "ST_GeomFromText('POLYGON((3.70 51.03, 3.72 51.03, 3.72 51.05, 3.70 51.05, 3.70 51.03))'), 9999, 'gent')"
    )
    meeting = create_meeting(con, title=GENT_TITLE, date=date(2026, 12, 20), areas=["G-1"], actor="gus",
                             candidates=[theme_candidate(t) for t in ("noise", "litter")])  # fmt: skip
    open_meeting(con, meeting.id, "gus")
    tokens = {name: start_session(con, settings, name) for name in ("deb", "gus", "mia")}
    con.close()
    return db, tokens, meeting.code


def _app(monkeypatch, db: Path, token: str | None = None, **query: str) -> AppTest:
    return dashboard_app(monkeypatch, db, token, **query)


def _shown(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning")
             for e in getattr(at, kind)]  # fmt: skip
    parts += [str(option) for box in at.selectbox for option in box.options]
    return "\n".join(parts)


def _meetings_page(at: AppTest) -> AppTest:
    at.switch_page("views/meetings.py")
    return at.run()


def test_an_account_of_one_site_sees_that_site_only(two_sites, monkeypatch):
    db, tokens, _code = two_sites
    gus = _meetings_page(_app(monkeypatch, db, tokens["gus"]).run())
    assert not gus.exception
    assert GENT_TITLE in _shown(gus) and DEMO_TITLE not in _shown(gus)
    assert not [box for box in gus.sidebar.selectbox if box.label == "Site"]  # one site: nothing to choose
    deb = _meetings_page(_app(monkeypatch, db, tokens["deb"]).run())
    assert DEMO_TITLE in _shown(deb) and GENT_TITLE not in _shown(deb)


def test_an_account_of_two_sites_picks_one_in_the_sidebar(two_sites, monkeypatch):
    db, tokens, _code = two_sites
    at = _app(monkeypatch, db, tokens["mia"]).run()
    (choice,) = [box for box in at.sidebar.selectbox if box.label == "Site"]
    assert choice.options == ["default", "gent"] and choice.value == "default"
    at = _meetings_page(at)
    assert DEMO_TITLE in _shown(at) and GENT_TITLE not in _shown(at)
    [box for box in at.sidebar.selectbox if box.label == "Site"][0].set_value("gent")
    at = at.run()  # mia is a council user in gent: the staff meetings page is not hers there
    assert "Please log in to see this page." in _shown(at) and DEMO_TITLE not in _shown(at)
    at.switch_page("views/meeting_screen.py")
    at = at.run()  # the meeting screen lists gent's meetings only
    assert GENT_TITLE in _shown(at) and DEMO_TITLE not in _shown(at)


def test_the_public_meeting_screen_finds_a_meeting_of_any_site_by_its_code(two_sites, monkeypatch):
    db, _tokens, code = two_sites
    at = _app(monkeypatch, db, None, code=code).run()
    at.switch_page("views/meeting_screen.py").run()
    assert not at.exception
    assert GENT_TITLE in _shown(at) + "".join(str(h.proto) for h in at.get("html"))
