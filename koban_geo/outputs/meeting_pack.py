"""The meeting pack: one self-contained HTML page that prints on A4, for a neighbourhood meeting.

It holds a map drawn as inline SVG from the geometries (the meeting's areas shaded by their public-tier
counts, the store's streets layer as thin lines for orientation, the public Gi* hot cells, the items voted on
that have a place; no tiles, no network, no browser needed to make it), the ranked priorities per group and combined, the actions agreed on the problem cards
made from this meeting's items, and the precision note. Everything shown is public tier (the same rows a
public export gets); every data string is HTML-escaped and the page carries a Content-Security-Policy that
allows no script at all. Fixed headings come from the message catalogues (koban_geo/locales) in the seven
languages; item and theme labels from the meeting and the taxonomy.

    >>> meeting_pack(con, settings, 3, "fi", Path("kokous.html"), actor="anna.k")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import duckdb
import shapely

from koban_geo.analysis.grid import Filter
from koban_geo.outputs.classes import class_breaks, class_of
from koban_geo.privacy.audience import Audience, Policy
from koban_geo.store.i18n import LANGUAGES, format_date, pgettext
from koban_geo.store.scope import site_of
from koban_geo.store.settings import Settings
from koban_geo.store.sites import list_sites
from koban_geo.store.sql import audit, writing
from koban_geo.store.taxonomy import themes

ROLES = ("resident", "officer", "partner")
WINDOW_DAYS = 365  # the map and counts cover the year up to the meeting
MAP_WIDTH = 680.0
MAP_MAX_HEIGHT = 620.0
SHADES = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")  # ColorBrewer Blues
HOT = "#d7301f"
STREET = "#8c8c8c"

_CSS = """
@page { size: A4 portrait; margin: 14mm 14mm 16mm 14mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "Noto Sans", "DejaVu Sans", Arial, sans-serif; color: #111; margin: 0 auto;
       max-width: 182mm; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; border-bottom: 0.4mm solid #08519c; page-break-after: avoid;
     break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 1mm; page-break-after: avoid; break-after: avoid; }
.meta { color: #333; margin: 0 0 1mm; }
figure { margin: 0; page-break-inside: avoid; break-inside: avoid; }
svg.map { width: 100%; height: auto; border: 0.3mm solid #999; background: #fff; }
.legend { display: flex; flex-wrap: wrap; gap: 2mm 6mm; font-size: 9pt; margin: 1.5mm 0 0; padding: 0;
          list-style: none; }
.legend svg { vertical-align: middle; margin-right: 1.5mm; }
table { width: 100%; border-collapse: collapse; margin: 1mm 0 3mm; font-size: 10pt; }
th, td { text-align: left; padding: 1mm 1.5mm; border-bottom: 0.2mm solid #bbb; vertical-align: top; }
th { background: #eef3fa; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr { page-break-inside: avoid; break-inside: avoid; }
.groups { display: grid; grid-template-columns: repeat(3, 1fr); gap: 3mm; }
.note { font-size: 9pt; color: #333; border-left: 1mm solid #9ecae1; padding: 1mm 2mm; margin: 2mm 0; }
footer { font-size: 8pt; color: #555; margin-top: 6mm; }
@media screen { body { padding: 8mm; } }
"""


@cache
def _words(lang: str) -> dict[str, str]:
    """The pack's fixed headings in `lang`, by key (the catalogue's context "meeting pack")."""
    return {
        "pack": pgettext("meeting pack", "Meeting pack", lang),
        "date": pgettext("meeting pack", "Date", lang),
        "areas": pgettext("meeting pack", "Areas", lang),
        "window": pgettext("meeting pack", "Reports from {since} to {until}", lang),
        "map": pgettext("meeting pack", "Map", lang),
        "legend_areas": pgettext(
            "meeting pack", "Areas shaded by the number of reports (darker: more)", lang
        ),
        "legend_hidden": pgettext("meeting pack", "Number hidden (fewer than {k} reports)", lang),
        "legend_hot": pgettext("meeting pack", "Hot spot (Gi*, 90 % confidence or more)", lang),
        "legend_item": pgettext("meeting pack", "Item voted on (number: its rank)", lang),
        "priorities": pgettext("meeting pack", "Priorities", lang),
        "combined": pgettext("meeting pack", "All groups together", lang),
        "resident": pgettext("meeting pack", "Residents", lang),
        "officer": pgettext("meeting pack", "Police officers", lang),
        "partner": pgettext("meeting pack", "Partners", lang),
        "rank": pgettext("meeting pack", "Rank", lang),
        "item": pgettext("meeting pack", "Item", lang),
        "share": pgettext("meeting pack", "Share", lang),
        "ballots": pgettext("meeting pack", "Ballots", lang),
        "hidden_groups": pgettext(
            "meeting pack", "Results per group are not shown: a group had fewer than {k} participants.", lang
        ),
        "hidden_all": pgettext("meeting pack", "Results are not shown: fewer than {k} people voted.", lang),
        "no_votes": pgettext("meeting pack", "No votes yet.", lang),
        "method_dots": pgettext("meeting pack", "Dot voting", lang),
        "method_ranking": pgettext("meeting pack", "Ranking (Borda count)", lang),
        "actions": pgettext("meeting pack", "Agreed actions", lang),
        "problem": pgettext("meeting pack", "Problem", lang),
        "action": pgettext("meeting pack", "Action", lang),
        "owner": pgettext("meeting pack", "Who", lang),
        "due": pgettext("meeting pack", "Due", lang),
        "status": pgettext("meeting pack", "Status", lang),
        "no_actions": pgettext("meeting pack", "No actions have been agreed yet.", lang),
        "status_planned": pgettext("meeting pack", "planned", lang),
        "status_in_progress": pgettext("meeting pack", "in progress", lang),
        "status_done": pgettext("meeting pack", "done", lang),
        "status_dropped": pgettext("meeting pack", "dropped", lang),
        "problem_scanning": pgettext("meeting pack", "scanning", lang),
        "problem_analysis": pgettext("meeting pack", "analysis", lang),
        "problem_response": pgettext("meeting pack", "response", lang),
        "problem_assessment": pgettext("meeting pack", "assessment", lang),
        "problem_closed": pgettext("meeting pack", "closed", lang),
        "precision": pgettext("meeting pack", "About these figures", lang),
        "generated": pgettext("meeting pack", "Generated {when}", lang),
        "attribution": pgettext("meeting pack", "Sources", lang),
    }


def _t(lang: str, key: str, **values: Any) -> str:
    """A fixed heading in `lang` (English when missing), its {placeholders} filled, HTML-escaped."""
    text = _words(lang)[key]
    return escape(text.format(**values) if values else text)


def _e(value: Any) -> str:
    """Any data value as escaped HTML text (None as a dash)."""
    return "–" if value is None else escape(str(value), quote=True)


def meeting_pack(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    meeting_id: int,
    lang: str,
    out: Path | str,
    *,
    actor: str = "system",
) -> Path:
    """Write the meeting's pack as HTML to `out` (atomically) and audit it as an export; returns the path."""
    out = Path(out)
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; languages: {', '.join(LANGUAGES)}")
    page = render(con, settings, meeting_id, lang)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    detail = {"what": "meeting_pack", "audience": "public", "format": "html", "file": out.name,
              "meeting_id": int(meeting_id), "lang": lang}  # fmt: skip
    with writing(con) as cur:
        audit(cur, actor, "export", json.dumps(detail, ensure_ascii=False))
    return out


def render(con: duckdb.DuckDBPyConnection, settings: Settings, meeting_id: int, lang: str = "en") -> str:
    """The pack's HTML (see the module docstring)."""
    from koban_geo.community.meetings import get_meeting
    from koban_geo.outputs.export import build

    meeting = get_meeting(con, meeting_id)
    policy = Policy.for_audience(Audience.PUBLIC, settings)
    until = datetime.combine(meeting.date, time()) + timedelta(days=1)
    since = until - timedelta(days=WINDOW_DAYS)
    flt = Filter(areas=tuple(meeting.areas), since=since, until=until, unit=settings.count_unit)
    priorities = build(con, settings, "priorities", Audience.PUBLIC, meeting_id=meeting.id, lang=lang)
    areas = _areas(con, settings, meeting.areas, flt)
    cells = _hot_cells(con, settings, flt)
    items = [(p.get("rank"), g) for g, p in priorities.rows if g is not None]
    names = ", ".join(name for _, name, _, _ in areas) or ", ".join(meeting.areas)
    method = "method_dots" if meeting.rules.method == "dots" else "method_ranking"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_t(lang, 'pack')}: {_e(meeting.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(meeting.title)}</h1>",
        f'<p class="meta">{_t(lang, "pack")} · {_t(lang, "date")}: {_e(format_date(meeting.date, lang))}'
        f" · {_t(lang, method)}</p>",
        f'<p class="meta">{_t(lang, "areas")}: {_e(names)}</p>',
        _site_line(con),
        f'<p class="meta">{_t(lang, "window", since=format_date(since.date(), lang), until=format_date(meeting.date, lang))}</p>',
        "</header>",
        f"<section><h2>{_t(lang, 'map')}</h2>",
        _map(areas, cells, items, lang, policy.k, streets=_streets(con)),
        "</section>",
        f"<section><h2>{_t(lang, 'priorities')}</h2>",
        _priorities(priorities.rows, priorities.meta["meeting"], lang, policy.k),
        "</section>",
        f"<section><h2>{_t(lang, 'actions')}</h2>",
        _actions(con, settings, meeting.id, lang),
        "</section>",
        f"<section><h2>{_t(lang, 'precision')}</h2>",
        f'<p class="note">{_e(policy.precision_note(lang))}</p>',
        "</section>",
        "<footer>",
        f"<p>{_t(lang, 'attribution')}: {_e(priorities.meta['attribution'])} {_e(priorities.meta['licence'])}</p>",
        f"<p>{_t(lang, 'generated', when=datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC'))}</p>",
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Data for the map
# ---------------------------------------------------------------------------------------------------------


def _areas(
    con: duckdb.DuckDBPyConnection, settings: Settings, codes: Sequence[str], flt: Filter
) -> list[tuple[str, str, shapely.Geometry, int | None | bool]]:
    """(code, name, polygon, count) of the meeting's areas; count None when hidden, False when unknown
    (koban_geo.analysis.areas not available)."""
    from koban_geo.store.sql import query

    found = []
    for code in codes:
        row = query(con, "problem_area", {"code": code}).fetchone()
        if row:
            found.append((str(row[0]), str(row[1]), shapely.from_wkb(bytes(row[2]))))
    try:
        from koban_geo.analysis.areas import area_counts
    except ImportError:
        return [(c, n, g, False) for c, n, g in found]
    rows, _meta = area_counts(con, settings, flt=flt, audience=Audience.PUBLIC)
    counts: dict[str, int | None] = {}
    for _geom, props in rows:
        area_code = props.get("area_code")
        if area_code is not None:
            value = props.get("count")
            counts[str(area_code)] = None if value is None else int(value)
    return [(c, n, g, counts.get(c) if c in counts else False) for c, n, g in found]


def _streets(con: duckdb.DuckDBPyConnection) -> list[shapely.Geometry]:
    """The store's streets layer (open data, e.g. the demo's named streets), none when it was not loaded."""
    from koban_geo.analysis.areas import streets

    return list(streets(con))


def _hot_cells(con: duckdb.DuckDBPyConnection, settings: Settings, flt: Filter) -> list[shapely.Geometry]:
    from koban_geo.analysis.hotspots import hotspots

    try:
        rows, _ = hotspots(con, settings, method="gistar", flt=flt, audience=Audience.PUBLIC)
    except ValueError:
        return []
    return [g for g, p in rows if (p.get("gi_bin") or 0) > 0 and p.get("count") is not None]


# ---------------------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------------------


class _Frame:
    """Lon/lat to SVG pixels: equirectangular, x scaled by cos(latitude) so shapes keep their proportions."""

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        west, south, east, north = bounds
        self.west, self.north = west, north
        self.kx = math.cos(math.radians((south + north) / 2))
        w = max((east - west) * self.kx, 1e-9)
        h = max(north - south, 1e-9)
        self.scale = min(MAP_WIDTH / w, MAP_MAX_HEIGHT / h)
        self.width, self.height = w * self.scale, h * self.scale

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.west) * self.kx * self.scale, (self.north - lat) * self.scale

    def lines(self, geom: shapely.Geometry) -> str:
        """SVG path data of the lines in geom (other parts are left out)."""
        parts = []
        for line in getattr(geom, "geoms", [geom]):
            if isinstance(line, shapely.LineString) and not line.is_empty:
                parts.append(
                    "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in (self.xy(*c) for c in line.coords))
                )
        return "".join(parts)

    def path(self, geom: shapely.Geometry) -> str:
        parts = []
        for polygon in getattr(geom, "geoms", [geom]):
            if not isinstance(polygon, shapely.Polygon):
                continue
            for ring in (polygon.exterior, *polygon.interiors):
                points = [self.xy(x, y) for x, y in ring.coords[:-1]]
                parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
        return "".join(parts)


def _shade(count: int | None | bool, breaks: Sequence[int]) -> str:
    if count is False:
        return "#f2f2f2"
    if count is None:
        return "url(#hidden)"
    if count == 0:
        return "#ffffff"
    # the screen's class of the same count (koban_geo.outputs.classes): paper and screen shade alike
    return SHADES[1 + class_of(count, breaks)] if breaks else SHADES[1]


def _swatch(fill: str, stroke: str = "#555", dash: str = "") -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<svg width="14" height="10" aria-hidden="true"><rect x="0.5" y="0.5" width="13" height="9" '
        f'fill="{fill}" stroke="{stroke}"{extra}/></svg>'
    )  # fmt: skip (the hatch is the map's #hidden)


_HATCH = (
    '<pattern id="hidden" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#f7f7f7"/><line x1="0" y1="0" x2="0" y2="6" stroke="#aaa" '
    'stroke-width="2"/></pattern>'
)


def _map(
    areas: Sequence[tuple[str, str, shapely.Geometry, Any]],
    cells: Sequence[shapely.Geometry],
    items: Sequence[tuple[int | None, shapely.Geometry]],
    lang: str,
    k: int,
    streets: Sequence[shapely.Geometry] = (),
) -> str:
    geoms = [g for _, _, g, _ in areas] + list(cells) + [g for _, g in items]
    if not geoms:
        return ""
    frame = _Frame(shapely.union_all(geoms).bounds)
    breaks = class_breaks([c for *_, c in areas if isinstance(c, int) and not isinstance(c, bool)])
    out = [
        f'<figure><svg class="map" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="-4 -4 {frame.width + 8:.1f} {frame.height + 8:.1f}" '
        f'aria-label="{_t(lang, "map")}"><defs>{_HATCH}</defs>'
    ]
    for _code, _name, geom, count in areas:
        out.append(f'<path d="{frame.path(geom)}" fill="{_shade(count, breaks)}" fill-rule="evenodd" '
                   'stroke="#555" stroke-width="0.8"/>')  # fmt: skip
    box = (frame.west, frame.north - frame.height / frame.scale, frame.west + frame.width / frame.scale / frame.kx,
           frame.north)  # fmt: skip
    lines = "".join(frame.lines(shapely.clip_by_rect(g, *box)) for g in streets)
    if lines:  # for orientation, over the shading and under everything else
        out.append(
            f'<path d="{lines}" fill="none" stroke="{STREET}" stroke-width="0.7" stroke-linecap="round"/>'
        )
    for geom in cells:
        out.append(f'<path d="{frame.path(geom)}" fill="{HOT}" fill-opacity="0.6" stroke="none"/>')
    for _rank, geom in items:
        out.append(f'<path d="{frame.path(geom)}" fill="none" stroke="#111" stroke-width="1.6" '
                   'stroke-dasharray="5 3"/>')  # fmt: skip
    for _code, name, geom, _count in areas:
        x, y = frame.xy(*geom.representative_point().coords[0])
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="9" text-anchor="middle" fill="#111" '
                   f'stroke="#fff" stroke-width="2.5" paint-order="stroke">{_e(name)}</text>')  # fmt: skip
    for rank, geom in items:
        if rank is None:
            continue
        west, _south, _east, north = geom.bounds  # the number sits in the item's corner, clear of the names
        x, y = frame.xy(west, north)
        x, y = x + 10, y + 10
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="#111"/><text x="{x:.1f}" y="{y + 3.5:.1f}" '
                   f'font-size="10" text-anchor="middle" fill="#fff">{_e(rank)}</text>')  # fmt: skip
    out.append("</svg>")
    legend = [f"<li>{_swatch(SHADES[3])}{_t(lang, 'legend_areas')}</li>"]
    if any(c is None for *_, c in areas):
        legend.append(f"<li>{_swatch('url(#hidden)')}{_t(lang, 'legend_hidden', k=k)}</li>")
    if cells:
        legend.append(f"<li>{_swatch(HOT, 'none')}{_t(lang, 'legend_hot')}</li>")
    if items:
        legend.append(f"<li>{_swatch('none', '#111', '3 2')}{_t(lang, 'legend_item')}</li>")
    out.append(f'<ul class="legend">{"".join(legend)}</ul></figure>')
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %"


def _priorities(
    rows: Sequence[tuple[Any, Mapping[str, Any]]], meeting: Mapping[str, Any], lang: str, k: int
) -> str:
    props = [p for _, p in rows]
    shown = [p for p in props if p.get("rank") is not None]
    voted = any(p.get("combined_pct") for p in props)
    out = []
    ballots = meeting.get("ballots")
    if ballots:
        out.append(f'<p class="meta">{_t(lang, "ballots")}: {_e(ballots)}</p>')
    if meeting.get("all_figures_hidden"):
        out.append(f'<p class="note">{_t(lang, "hidden_all", k=k)}</p>')
    elif not voted:
        out.append(f'<p class="note">{_t(lang, "no_votes")}</p>')
    head = f'<tr><th class="num">{_t(lang, "rank")}</th><th>{_t(lang, "item")}</th><th class="num">{_t(lang, "share")}</th></tr>'
    out.append(f"<h3>{_t(lang, 'combined')}</h3><table><thead>{head}</thead><tbody>")
    for p in sorted(props, key=lambda p: (p.get("rank") is None, p.get("rank") or 0)):
        out.append(f'<tr><td class="num">{_e(p.get("rank"))}</td><td>{_e(p["label"])}</td>'
                   f'<td class="num">{_pct(p.get("combined_pct"))}</td></tr>')  # fmt: skip
    out.append("</tbody></table>")
    if meeting.get("group_figures_hidden") and not meeting.get("all_figures_hidden"):
        out.append(f'<p class="note">{_t(lang, "hidden_groups", k=k)}</p>')
    elif shown:
        groups = []
        for role in ROLES:
            ranked = [p for p in props if p.get(f"{role}_rank") is not None]
            if not ranked:
                continue
            body = "".join(
                f'<tr><td class="num">{_e(p[f"{role}_rank"])}</td><td>{_e(p["label"])}</td>'
                f'<td class="num">{_pct(p.get(f"{role}_pct"))}</td></tr>'
                for p in sorted(ranked, key=lambda p: p[f"{role}_rank"])
            )
            groups.append(
                f"<div><h3>{_t(lang, role)}</h3><table><thead>{head}</thead><tbody>{body}</tbody></table></div>"
            )
        if groups:
            out.append(f'<div class="groups">{"".join(groups)}</div>')
    return "".join(out)


def _actions(con: duckdb.DuckDBPyConnection, settings: Settings, meeting_id: int, lang: str) -> str:
    """The public-tier cards made from this meeting's items and their actions (every status: an item the
    meeting agreed on is public by being voted on)."""
    from koban_geo.community.problem_card import card
    from koban_geo.community.problems import get_problem, list_problems

    labels = {t.code: t.labels.get(lang) or t.labels["en"] for t in themes()}
    listing = list_problems(con)
    prefix = f"{int(meeting_id)}:"
    rows = []
    for problem_id in sorted(int(i) for i in listing["id"]):
        problem = get_problem(con, problem_id)
        if problem.origin != "candidate" or not (problem.origin_ref or "").startswith(prefix):
            continue
        shown = card(con, settings, problem, audience=Audience.PUBLIC)
        if shown is None:
            continue
        rows.append(shown.properties)
    if not rows or not any(p["actions"] for p in rows):
        return f'<p class="note">{_t(lang, "no_actions")}</p>'
    out = []
    for p in rows:
        theme_names = ", ".join(labels.get(t, t) for t in p["themes"])
        out.append(f"<h3>{_e(p['title'])}</h3><p class=\"meta\">{_e(theme_names)} · {_t(lang, 'status')}: "
                   f"{_t(lang, 'problem_' + p['status'])}</p>")  # fmt: skip
        if not p["actions"]:
            out.append(f'<p class="note">{_t(lang, "no_actions")}</p>')
            continue
        out.append(f"<table><thead><tr><th>{_t(lang, 'action')}</th><th>{_t(lang, 'owner')}</th>"
                   f"<th>{_t(lang, 'due')}</th><th>{_t(lang, 'status')}</th></tr></thead><tbody>")  # fmt: skip
        for a in p["actions"]:
            out.append(f"<tr><td>{_e(a['description'])}</td><td>{_e(a['owner_org'])}</td>"
                       f"<td>{_e(a.get('due'))}</td><td>{_t(lang, 'status_' + a['status'])}</td></tr>")  # fmt: skip
        out.append("</tbody></table>")
    return "".join(out)


def _site_line(con: duckdb.DuckDBPyConnection) -> str:
    """The site's name under the title when the store serves several sites (a one-site pack is unchanged)."""
    sites = list_sites(con)
    if len(sites) < 2:
        return ""
    here = site_of(con)
    return "".join(f'<p class="meta site">{_e(s.name)} ({_e(s.code)})</p>' for s in sites if s.code == here)
