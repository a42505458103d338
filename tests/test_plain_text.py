"""Data is text, never markup: every page, run under AppTest with Markdown and HTML payloads in every field
that comes from data (area names, theme labels, meeting titles and items, facilitator notes, problem titles,
actions, report texts, account names), shows each payload literally and makes no image, link or tag of it.

What Streamlit renders as Markdown (titles, captions, alerts, `st.write`, widget labels, `st.table` cells) is
rendered here with markdown-it (CommonMark with GitHub's tables, strike-through and bare-link detection, as
Streamlit's front end does); what it shows as text (`st.text`, data frames, select box options) is taken as is.
The real browser check of the same rule is tests/test_browser_session.py (meeting screen, CSP).
"""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from koban_geo.community.accounts import add_user, start_session
from koban_geo.community.meetings import (
    close_meeting,
    create_meeting,
    custom_candidate,
    open_meeting,
)
from koban_geo.community.problems import add_action, create_problem
from koban_geo.community.proposals import propose_candidates
from koban_geo.community.voting import add_facilitator_count, cast_ballot
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAYLOADS = ("![a](http://127.0.0.2:9/px.png)", "[x](http://evil.example)", "<img src=x onerror=alert(1)>",
            "**bold**", "www.evil.example")  # fmt: skip
P = " ".join(PAYLOADS)
OFFICER = "x_y_z"  # an account name that Markdown would turn into "x<em>y</em>z"
_MD = MarkdownIt("gfm-like", {"linkify": True})
_MARKUP = re.compile(r"<(img|a|script|iframe|svg|object)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def hostile(demo_db, tmp_path_factory):
    """A demo store whose data carries the payloads everywhere a page shows data."""
    db = tmp_path_factory.mktemp("plain") / "demo.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db)
    con = connect(db)
    try:
        add_user(con, OFFICER, "a long officer passphrase", "officer", actor="test")
        token = start_session(con, settings, OFFICER)
        areas = [r[0] for r in con.execute("SELECT code FROM areas ORDER BY code LIMIT 3").fetchall()]
        con.execute("UPDATE areas SET name = name || ' ' || ? WHERE code IN (SELECT unnest(?))", [P, areas])
        items = propose_candidates(con, settings, areas, None, None)[:3] + [custom_candidate(f"Item {P}")]
        before = create_meeting(con, title=f"Before {P}", date=date(2026, 10, 1), areas=areas, actor=OFFICER,
                                candidates=items)  # fmt: skip
        open_meeting(con, before.id, OFFICER)
        for i in range(6):
            cast_ballot(con, before.code, f"hostile-phone-{i:04d}-token", "resident", {items[-1].key: 1})
        close_meeting(con, before.id, OFFICER)
        theme_item = next(c for c in items if c.kind != "custom")
        problem = create_problem(
            con, settings, actor=OFFICER, title=f"Problem {P}", candidate=(before.id, theme_item.key)
        )
        add_action(con, problem, actor=OFFICER, description=f"Action {P}", owner_org=f"Org {P}")
        now = create_meeting(con, title=f"Now {P}", date=date(2026, 12, 1), areas=areas, actor=OFFICER,
                             candidates=items)  # fmt: skip
        open_meeting(con, now.id, OFFICER)
        add_facilitator_count(con, now.id, "resident", {items[-1].key: 3}, f"Note {P}", OFFICER)
        # free texts are scrubbed when saved (the URLs become [URL]): expect them as stored
        stored = {
            "problem": con.execute("SELECT title FROM problems WHERE id = ?", [problem]).fetchone()[0],
            "action": con.execute(
                "SELECT description FROM problem_actions WHERE problem_id = ?", [problem]
            ).fetchone()[0],
            "org": con.execute(
                "SELECT owner_org FROM problem_actions WHERE problem_id = ?", [problem]
            ).fetchone()[0],
            "note": con.execute("SELECT note FROM meeting_counts WHERE meeting_id = ?", [now.id]).fetchone()[
                0
            ],
        }
        assert all("**bold**" in v and "<img src=x" in v for v in stored.values()), stored
        point = con.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM areas WHERE code = ?)",
            [areas[0]],
        ).fetchone()
    finally:
        con.close()
    return {"db": db, "token": token, "now": now.code, "point": point, **stored}


@pytest.fixture
def hostile_themes(monkeypatch):
    """Theme labels as a source might name them (the taxonomy's labels with the payloads added)."""
    from koban_geo.store.taxonomy import themes
    from ui import filters

    changed = tuple(
        dataclasses.replace(t, labels={k: f"{v} {P}" for k, v in t.labels.items()}) for t in themes()
    )
    monkeypatch.setattr(filters, "themes", lambda: changed)


def _app(monkeypatch, site: dict[str, Any], *, logged_in: bool, **query: str) -> AppTest:
    from ui import auth
    from web import process
    from web.session import sign

    monkeypatch.setenv("KOBAN_DB", str(site["db"]))
    monkeypatch.setenv("KOBAN_TILES_URL", "")
    cookie = sign(site["token"], process.session_key()) if logged_in else None
    monkeypatch.setattr(auth, "session_cookie", lambda: cookie)
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    return at


# Streamlit's front end (remark-gfm) links bare addresses even when their symbols are escaped.
_BARE = re.compile(r"(?i)\b(https?|ftps?|mailto)(\\)?:|\bwww(\\)?\.|\w(\\)?@\w")


def _rendered(source: str) -> str:
    """What Streamlit's Markdown shows for `source`, as text; fails on any image, link or tag it would make."""
    out = _MD.render(source)
    assert not _MARKUP.search(out), f"markup from data: {source!r} -> {out!r}"
    assert not _BARE.search(source), f"a bare link Streamlit would make: {source!r}"
    return html.unescape(re.sub(r"<[^>]+>", "", out)).replace("\u2060", "")  # the invisible word joiner


def shown(at: AppTest) -> str:
    """Every text the page shows: Markdown rendered and checked, plain text as it is."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
    ):
        parts += [_rendered(str(e.value)) for e in getattr(at, kind)]
    for kind in ("number_input", "text_input", "text_area", "selectbox", "multiselect", "radio", "checkbox",
                 "button", "date_input", "metric", "tabs", "expander"):  # fmt: skip
        parts += [_rendered(str(e.label)) for e in getattr(at, kind) if getattr(e, "label", None)]
    for table in at.table:
        frame = table.value
        parts += [_rendered(str(c)) for c in frame.columns]
        parts += [_rendered(v) for v in frame.astype(str).to_numpy().ravel()]
        parts += [_rendered(str(i)) for i in frame.index]
    parts += [str(e.value) for e in at.text]
    for frame in (d.value for d in at.dataframe):
        parts += [str(v) for v in frame.to_numpy().ravel()] + [str(c) for c in frame.columns]
    for kind in ("selectbox", "multiselect", "radio"):
        parts += [str(o) for e in getattr(at, kind) for o in e.options]
    parts += [
        _html_text(e.proto.body) for e in at.get("html")
    ]  # our own st.html blocks (tally bars, join box)
    return "\n".join(parts)


def _html_text(body: str) -> str:
    """The text of an st.html block, entities decoded. Fails on any link, script or frame in it, and on any image
    but an inline `data:` one (the QR code): our blocks are divs and spans, so such a tag came from data."""
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.text: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            source = dict(attrs).get("src") or ""
            assert tag not in {"a", "script", "iframe", "svg", "object"}, f"markup from data: {body[:300]}"
            assert tag != "img" or source.startswith("data:image/"), f"image from data: {body[:300]}"

        def handle_data(self, data: str) -> None:
            self.text.append(data)

    reader = Reader()
    reader.feed(body)
    return " ".join(reader.text)


CASES = [
    # page, query, logged in, what must be shown literally
    ("views/meeting_screen.py", "now", False, ["Now " + P, "Item " + P, P]),
    # the phones' page is plain HTML outside Streamlit: escaping tested in tests/test_phone.py
    ("views/outcomes.py", None, False, ["Item " + P, "problem", "action", "org"]),
    ("views/meetings.py", None, True, ["Now " + P, "Item " + P, "note"]),
    ("views/problems.py", None, True, ["problem", "action", "org", P]),
    ("views/login.py", None, True, [OFFICER]),
    ("views/officer_map.py", None, True, [P]),  # the areas filter
    ("views/exports.py", None, True, []),
]


@pytest.mark.parametrize(("page", "meeting", "logged_in", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_page_shows_data_as_text(
    hostile, hostile_themes, monkeypatch, page, meeting, logged_in, expected
):
    query = {}
    if meeting and "screen" in page:
        query = {"code": hostile[meeting]}
    elif meeting:
        query = {"meeting": hostile[meeting], "device": "plain-text-test-phone-0001"}
    at = _app(monkeypatch, hostile, logged_in=logged_in, **query).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    text = shown(at)  # fails on any image, link or tag made from data
    for literal in expected:
        literal = hostile.get(literal, literal)  # a stored (scrubbed) text, or the payload itself
        assert literal in text, (literal, text[:3000])


def test_the_details_panel_shows_data_as_text(hostile, hostile_themes, monkeypatch):
    """The officer's details panel of a clicked place (st_folium is not run by AppTest: the click is given)."""
    monkeypatch.setenv("KOBAN_DB", str(hostile["db"]))
    lon, lat = hostile["point"]

    def panel(lat: float, lon: float) -> None:
        from koban_geo.analysis.grid import Filter
        from koban_geo.privacy.audience import Audience
        from ui import details

        details.panel({"last_object_clicked": {"lat": lat, "lng": lon}}, Filter(), Audience.OFFICER, "en")

    at = AppTest.from_function(panel, args=(lat, lon), default_timeout=180).run()
    assert not at.exception, at.exception
    text = shown(at)
    assert P in text  # the area's name, literally
