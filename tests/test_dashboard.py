"""Every page runs under Streamlit's AppTest against a real demo store (the map itself is tested in a real
browser: AppTest shows st_folium as an unknown element)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from koban_geo.community.accounts import add_user, start_session
from koban_geo.community.meetings import create_meeting, open_meeting
from koban_geo.community.proposals import propose_candidates
from koban_geo.community.voting import results
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings
from tests.helpers import dashboard_app

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAGES = ("views/officer_map.py", "views/meetings.py", "views/problems.py", "views/exports.py",
         "views/meeting_screen.py", "views/outcomes.py", "views/login.py")  # fmt: skip
PUBLIC_PAGES = (
    "views/meeting_screen.py",
    "views/outcomes.py",
    "views/login.py",
)  # phones: tests/test_phone.py


@pytest.fixture(scope="module")
def site(demo_db, tmp_path_factory):
    """A demo store with an officer, an admin and one open meeting; yields (db, tokens, join code)."""
    folder = tmp_path_factory.mktemp("site")
    db = folder / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db)
    con = connect(db)
    add_user(con, "olli", "a long officer passphrase", "officer", actor="test")
    add_user(con, "admin", "a long admin passphrase!", "admin", actor="test")
    add_user(con, "cara", "a long council passphrase", "council", actor="test")
    tokens = {name: start_session(con, settings, name) for name in ("olli", "admin", "cara")}
    areas = [r[0] for r in con.execute("SELECT code FROM areas ORDER BY code LIMIT 3").fetchall()]
    items = propose_candidates(con, settings, areas, None, None)
    meeting = create_meeting(con, title="Kamppi *evening*", date=date(2026, 11, 30), areas=areas, actor="olli",
                             candidates=items)  # fmt: skip
    open_meeting(con, meeting.id, "olli")
    con.close()
    yield db, tokens, meeting.code, meeting.id


def _app(monkeypatch, db: Path, token: str | None = None, **query: str) -> AppTest:
    return dashboard_app(monkeypatch, db, token, **query)


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning",
                                  "error", "success") for e in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_for_an_officer(site, monkeypatch, page):
    db, tokens, code, _ = site
    at = (
        _app(monkeypatch, db, tokens["olli"], code=code)
        if "screen" in page
        else _app(monkeypatch, db, tokens["olli"])
    )
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize(
    "page", ("views/officer_map.py", "views/meetings.py", "views/problems.py", "views/exports.py")
)
def test_a_public_visitor_cannot_reach_staff_pages(site, monkeypatch, page):
    db, tokens, *_ = site
    at = _app(monkeypatch, db)
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)
    # A council user reaches the map but is stopped at the officers-only pages by the page's own tier check.
    council = _app(monkeypatch, db, tokens["cara"]).run()
    council.switch_page(page).run()
    assert not council.exception
    assert bool(council.warning) == (page == "views/meetings.py")


def test_the_public_default_page_is_the_login(site, monkeypatch):
    db, *_ = site
    at = _app(monkeypatch, db).run()
    assert not at.exception
    links = [
        str(h.proto.body) for h in at.get("html") if 'href="/account/login?next=%2F' in str(h.proto.body)
    ]
    assert links and 'target="_self"' in links[0]


def test_the_session_cookie_logs_in_and_a_logout_elsewhere_ends_it(site, monkeypatch):
    from koban_geo.community.accounts import end_session

    db, *_ = site
    con = connect(db)
    try:
        token = start_session(con, Settings(db=db), "olli")
    finally:
        con.close()
    at = _app(monkeypatch, db, token).run()
    at.switch_page("views/meetings.py").run()
    assert not at.exception and at.title[0].value == "Meetings"
    from web import process

    end_session(process.connection(), token)  # logged out in another tab
    at.run()  # this tab's next run
    assert not at.exception
    assert "Your session has ended" in at.warning[0].value
    assert [h for h in at.get("html") if 'href="/account/login?next=' in str(h.proto.body)]
    assert not [b for b in at.button if b.key == "new-meeting-create"]


def test_meeting_screen_is_public_and_shows_the_join_code(site, monkeypatch):
    db, _tokens, code, _ = site
    at = _app(monkeypatch, db, code=code).run()
    at.switch_page("views/meeting_screen.py").run()
    assert not at.exception
    text = _texts(at)
    assert code in "\n".join(str(getattr(h, "value", h)) for h in at.get("html")) or code in text
    assert any("snapped" in i.value or "grid" in i.value for i in at.info)  # the precision note


def test_admin_gets_the_accounts_page_and_others_do_not(site, monkeypatch):
    db, tokens, *_ = site
    at = _app(monkeypatch, db, tokens["admin"]).run()
    at.switch_page("views/admin.py").run()
    assert not at.exception and not at.warning
    officer = _app(monkeypatch, db, tokens["olli"]).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        officer.switch_page("views/admin.py")


def test_app_explains_a_missing_store(tmp_path, monkeypatch):
    monkeypatch.setenv("KOBAN_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "koban-geo init" in at.error[0].value.replace("\\", "")  # data in a message is escaped


def test_public_tally_hides_a_group_with_fewer_than_k_phones(site):
    from koban_geo.community.voting import cast_ballot
    from ui.meeting import tally_table

    db, _tokens, code, meeting_id = site
    con = connect(db)
    try:
        first = con.execute("SELECT key FROM meeting_candidates WHERE meeting_id = ? ORDER BY position LIMIT 1",
                            [meeting_id]).fetchone()[0]  # fmt: skip
        cast_ballot(con, code, "partner-phone-token-0001", "partner", {first: 1})
        outcome = results(con, meeting_id)
    finally:
        con.close()
    public = tally_table(outcome, "en", k=5)
    assert set(public["Partners"]) == {"–"} and set(public["Combined"]) == {"–"} and set(public["#"]) == {"–"}
    officer = tally_table(outcome, "en")
    assert "100%" in set(officer["Partners"])


def test_admin_backs_up_the_store_while_the_app_holds_it(site, monkeypatch):
    db, tokens, *_ = site
    at = _app(monkeypatch, db, tokens["admin"]).run()
    at.switch_page("views/admin.py").run()
    at.button(key="admin-backup").click().run()
    assert not at.exception and at.success
    backups = list((db.parent / "backups").iterdir())
    assert backups and (backups[0] / "manifest.json").is_file()


def test_the_public_meeting_screen_asks_for_a_code_instead_of_listing_meetings(site, monkeypatch):
    db, tokens, *_ = site
    public = _app(monkeypatch, db).run()
    public.switch_page("views/meeting_screen.py").run()
    assert not public.exception
    assert [t for t in public.text_input if t.key == "screen-code"]
    assert not [s for s in public.selectbox if s.key == "screen-meeting"]
    officer = _app(monkeypatch, db, tokens["olli"]).run()
    officer.switch_page("views/meeting_screen.py").run()
    assert [s for s in officer.selectbox if s.key == "screen-meeting"]


def test_the_staff_default_maps_are_warmed_in_the_background(site, monkeypatch):
    """The server computes each staff tier's default map once at start, into the cache the map page reads."""
    from datetime import date as day

    from koban_geo.analysis.grid import Filter
    from ui import map as maps
    from ui import store
    from ui.filters import window
    from ui.map import cache

    db, tokens, *_ = site
    _app(monkeypatch, db, tokens["olli"]).run()
    warming = maps._CACHED.get("warm")
    assert warming is not None and maps.warm_default_maps() is None  # started once per process
    warming.join(timeout=300)
    assert not warming.is_alive()

    def not_warmed(*args, **kwargs):
        raise AssertionError("the default map was computed again: not warmed")

    monkeypatch.setattr(cache, "map_data", not_warmed)  # the name the cached function calls
    since, until = window("12m", day.today())
    flt = Filter(since=since, until=until, unit=store.settings().count_unit)
    for tier in maps.WARM_TIERS:
        data = maps._cached_data_fn()(
            store.data_version(), flt, str(tier), tuple(sorted(maps.DEFAULT_LAYERS))
        )
        assert data.layers[maps.GISTAR] is not None
    with pytest.raises(AssertionError, match="not warmed"):  # a filter nobody warmed is computed
        maps._cached_data_fn()(store.data_version(), Filter(themes=("noise",)), "officer", ("areas",))
