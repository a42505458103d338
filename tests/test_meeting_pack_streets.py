"""The meeting pack's SVG map draws the store's streets for orientation (issue 14: every map shows where
the streets are), clipped to the map's frame, and still holds no script and no external reference."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

from koban_geo.community.meetings import create_meeting
from koban_geo.community.proposals import propose_candidates
from koban_geo.outputs.meeting_pack import render
from koban_geo.store.db import connect
from koban_geo.store.settings import Settings


def test_the_pack_map_has_the_streets(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "pack.duckdb"
    shutil.copyfile(demo_db, db)
    settings = Settings(db=db)
    con = connect(db)
    try:
        areas = ["HEL-112", "HEL-113"]
        meeting = create_meeting(con, title="Streets", date=date(2026, 11, 30), areas=areas, actor="t",
                                 candidates=propose_candidates(con, settings, areas, None, None)[:2])  # fmt: skip
        page = render(con, settings, meeting.id, "en")
        n_streets = con.execute("SELECT count(*) FROM layers WHERE layer = 'streets'").fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    assert n_streets > 50  # the demo loads its named streets
    svg = page[page.index('<svg class="map"') : page.index("</svg>", page.index('<svg class="map"'))]
    streets = re.findall(r'<path d="([^"]+)" fill="none" stroke="#8c8c8c"', svg)
    assert len(streets) == 1  # one path for every street: small pages
    runs = streets[0].count("M")
    assert runs > 20  # the streets around two central areas, each run a line
    view = [float(v) for v in re.search(r'viewBox="([^"]+)"', svg).group(1).split()]  # type: ignore[union-attr]
    xy = [float(v) for v in re.findall(r"-?\d+\.\d", streets[0])]
    assert min(xy) >= view[0] - 1 and max(xy[0::2]) <= view[0] + view[2] + 1  # clipped to the frame
    assert "<script" not in page and "href" not in svg
