"""What a meeting is asked: items proposed from the public-tier analytics of its areas (themes with the most
concerns, then the strongest Gi* hot spots), and the "changed since the last meeting" panel. Public tier
only: every count passes koban_geo.privacy.audience.release. The meeting itself is koban_geo.community.meetings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from koban_geo.community.meetings import (
    NOT_PROPOSED,
    Candidate,
    Meeting,
    area_codes,
    known_areas,
    load_meeting,
    snapshot,
    theme_candidate,
    theme_labels,
)
from koban_geo.privacy.audience import Audience, Policy, release
from koban_geo.store.i18n import LANGUAGES, N_, gettext
from koban_geo.store.settings import Settings
from koban_geo.store.sql import query
from koban_geo.store.taxonomy import themes

HOTSPOT_LABEL = N_("Hot spot near {area}")  # a proposed hot-spot item, in every language


@dataclass(frozen=True)
class ThemeChange:
    """Public-tier concerns of one theme since the last meeting (`now`) and in as long a period before it;
    None where the count is hidden (fewer than k, or hidden so a hidden count cannot be worked out)."""

    theme: str
    label: str
    now: int | None
    before: int | None

    @property
    def change(self) -> int | None:
        return None if self.now is None or self.before is None else self.now - self.before


@dataclass(frozen=True)
class Changes:
    """The "changed since the last meeting" panel. `previous` is None when these areas had no closed
    meeting yet (then there are no rows). Periods: before_since <= t < since, and since <= t < until."""

    previous: Meeting | None
    since: datetime | None
    until: datetime
    before_since: datetime | None
    rows: tuple[ThemeChange, ...] = field(default_factory=tuple)
    note: str = ""


def _as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time())


def _public_theme_counts(
    cur: duckdb.DuckDBPyConnection, settings: Settings, areas: Sequence[str],
    since: datetime | None, until: datetime | None,
) -> pd.DataFrame:  # fmt: skip
    """theme, count: concerns per non-sensitive theme, as koban_geo.privacy.audience.release gives them to the public
    (count None where hidden)."""
    frame = query(cur, "meeting_theme_counts", {
        "areas": list(areas), "since": since, "until": until, "groups": settings.count_unit == "groups",
    }).fetchdf()  # fmt: skip
    return release(frame, Audience.PUBLIC, settings, theme="theme").frame


def propose_candidates(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    areas: Sequence[str] | str,
    since: date | datetime | None,
    until: date | datetime | None,
    limit: int = 8,
    *,
    max_hotspots: int = 3,
) -> list[Candidate]:
    """Items proposed from the public-tier analytics of `areas` in [since, until): the non-sensitive themes
    with the most concerns (k-suppressed through koban_geo.privacy.audience.release: a theme under k is never
    proposed; "other" is left out), then the strongest public Gi* hot spots of the same themes (adjacent hot
    cells merged into one place, strongest confidence first, then most concerns), at most `max_hotspots`
    and `limit` items in all."""
    from koban_geo.analysis.grid import Filter
    from koban_geo.analysis.hotspots import hotspots

    codes = area_codes(areas)
    since_dt, until_dt = _as_datetime(since), _as_datetime(until)
    with snapshot(con, macros=True) as cur:
        known = known_areas(cur, codes)
        counts = _public_theme_counts(cur, settings, codes, since_dt, until_dt)
        shown = counts[counts["count"].notna() & (counts["count"] > 0) & ~counts["theme"].isin(NOT_PROPOSED)]
        shown = shown.sort_values(["count", "theme"], ascending=[False, True])
        hot: list[Candidate] = []
        if max_hotspots > 0 and limit > 0 and int(counts["count"].fillna(0).sum()) > 0:
            counted = tuple(t.code for t in themes() if not t.sensitive and t.code not in NOT_PROPOSED)
            flt = Filter(
                themes=counted, areas=tuple(codes), since=since_dt, until=until_dt, unit=settings.count_unit
            )
            rows, _ = hotspots(cur, settings, method="gistar", flt=flt, audience=Audience.PUBLIC)
            hot = _hotspot_candidates(rows, known)[: min(max_hotspots, limit)]
    themes_part = [theme_candidate(str(r.theme), int(r.count)) for r in shown.itertuples(index=False)]
    return themes_part[: max(limit - len(hot), 0)] + hot


def _hotspot_candidates(
    rows: Sequence[tuple[Any, dict[str, Any]]], areas: Mapping[str, tuple[str, bytes]]
) -> list[Candidate]:
    """Hot cells (gi_bin > 0, count shown) merged where they touch, strongest first, named after the area
    they overlap most."""
    import shapely

    cells = [
        (geom, props) for geom, props in rows if props.get("gi_bin", 0) > 0 and props.get("count") is not None
    ]
    if not cells:
        return []
    geoms = [g for g, _ in cells]
    parent = list(range(len(cells)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=1e-6)
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for i in range(len(cells)):
        groups.setdefault(root(i), []).append(i)
    polygons = {code: shapely.from_wkb(wkb) for code, (_, wkb) in areas.items()}
    found = []
    for members in groups.values():
        shape = shapely.union_all([geoms[i] for i in members])
        strength = max(cells[i][1]["gi_bin"] for i in members)
        count = sum(int(cells[i][1]["count"]) for i in members)
        overlap = {code: shapely.area(shapely.intersection(shape, poly)) for code, poly in polygons.items()}
        best = max(sorted(overlap), key=lambda c: overlap[c])
        found.append((strength, count, best, shape))
    found.sort(key=lambda f: (-f[0], -f[1], f[2]))
    out: list[Candidate] = []
    used: dict[str, int] = {}
    for _, count, code, shape in found:
        used[code] = used.get(code, 0) + 1
        n = used[code]
        name = areas[code][0]
        suffix = f" ({n})" if n > 1 else ""
        out.append(Candidate(
            key=f"hotspot:{code}" + (f"-{n}" if n > 1 else ""), kind="hotspot",
            labels={lang: gettext(HOTSPOT_LABEL, lang).format(area=name) + suffix for lang in LANGUAGES},
            count=count, geometry=shape,
        ))  # fmt: skip
    return out


def changes_since_last_meeting(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    areas: Sequence[str] | str,
    lang: str = "en",
    *,
    until: date | datetime | None = None,
) -> Changes:
    """Per theme, public-tier concerns in these areas since the previous closed meeting that shared an area
    with them (from the start of its date up to `until`, default now in settings.timezone) against the
    period of the same length just before it. Both periods are released together through
    koban_geo.privacy.audience.release (groups=period), so counts under k, and any that would give them away, are
    hidden (None) and their change is None too. Sensitive themes are never counted."""
    codes = area_codes(areas)
    end = _as_datetime(until) or datetime.now(ZoneInfo(settings.timezone)).replace(tzinfo=None)
    policy = Policy.for_audience(Audience.PUBLIC, settings)
    with snapshot(con, macros=True) as cur:
        known_areas(cur, codes)
        row = query(cur, "meeting_last_closed", {"areas": codes, "until_date": end.date()}).fetchone()
        if row is None:
            return Changes(None, None, end, None, (), policy.precision_note(lang))
        previous = load_meeting(cur, row[0])
        since = datetime.combine(previous.date, time())
        if since >= end:
            return Changes(previous, since, end, since, (), policy.precision_note(lang))
        before_since = since - (end - since)
        frames = []
        for period, start, stop in (("now", since, end), ("before", before_since, since)):
            frame = query(cur, "meeting_theme_counts", {
                "areas": codes, "since": start, "until": stop, "groups": settings.count_unit == "groups",
            }).fetchdf()  # fmt: skip
            frames.append(frame.assign(period=period))
    both = pd.concat(frames, ignore_index=True)
    if both.empty:
        return Changes(previous, since, end, before_since, (), policy.precision_note(lang))
    wide = both.pivot_table(index="theme", columns="period", values="count", fill_value=0, aggfunc="sum")
    wide = wide.reindex(columns=["now", "before"], fill_value=0)
    long = wide.reset_index().melt(id_vars="theme", var_name="period", value_name="count")
    keys = both.pivot_table(index="theme", columns="period", values="ckey", fill_value=0, aggfunc="sum")
    keys = keys.reindex(index=wide.index, columns=["now", "before"], fill_value=0)
    long["ckey"] = (
        keys.reset_index().melt(id_vars="theme", var_name="period", value_name="ckey")["ckey"] % 256
    )
    shown = release(long, Audience.PUBLIC, settings, groups=["period"], theme="theme").frame
    labels = theme_labels()
    values = {(r.theme, r.period): (None if pd.isna(r.count) else int(r.count))
              for r in shown.itertuples(index=False)}  # fmt: skip
    rows = [
        ThemeChange(theme=t, label=labels[t].get(lang) or labels[t]["en"],
                    now=values.get((t, "now")), before=values.get((t, "before")))
        for t in sorted({str(t) for t, _ in values})
    ]  # fmt: skip
    rows.sort(key=lambda r: (r.now is None, -(r.now or 0), r.theme))
    return Changes(previous, since, end, before_since, tuple(rows), policy.precision_note(lang))
