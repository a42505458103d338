"""Near-duplicate grouping: reports about the same thing share a group id.

Rule (documented in README): same theme, same snapped place (grid square centre or anonymous point), and
reported within `days` of the group's first report. The place is the snapped one because the reported point
is never stored; the window is anchored on the first report so a persistent problem, reported every day for
months, stays many groups rather than collapsing into one. Text is not compared: the theme stands for it,
across languages (cross-language text similarity would need a multilingual embedding model).

Groups are worked out before the batch is inserted (an UPDATE of indexed rows afterwards costs seconds per
100,000 rows); a new report joins a stored group when it falls in that group's window.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from koban_geo.store.sql import query

DEFAULT_DAYS = 3


def new_groups(con: duckdb.DuckDBPyConnection, source: str, days: int = DEFAULT_DAYS) -> pa.Table:
    """(line, group_id) for the new rows of _resolved, from one leader pass over the window."""
    rows = query(con, "groups_window", {"source": source, "days": days}).fetchall()
    window = days * 86400.0
    lines: list[int] = []
    groups: list[str] = []
    key: tuple[str, bytes] | None = None
    anchor_t = 0.0
    anchor_group = ""
    for row_source, cid, theme, place, t, group_id, line in rows:
        place_key = (theme, bytes(place))
        if place_key != key or t - anchor_t > window:
            key, anchor_t = place_key, t
            anchor_group = group_id or f"{row_source}/{cid}"
        if line is not None:
            lines.append(line)
            groups.append(anchor_group)
    return pa.table({"line": pa.array(lines, pa.int64()), "group_id": pa.array(groups, pa.string())})
