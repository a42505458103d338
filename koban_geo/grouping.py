"""Near-duplicate grouping: reports about the same thing share a group id.

Rule (documented in README): same theme, same snapped place (grid square centre or anonymous point), and
reported within `days` of the group's first report. The place is the snapped one because the reported point
is never stored; the window is anchored on the first report so a persistent problem, reported every day for
months, stays many groups rather than collapsing into one. Text is not compared: the theme stands for it,
across languages (cross-language text similarity would need a multilingual embedding model).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from koban_geo.db import query

DEFAULT_DAYS = 3


def assign_groups(con: duckdb.DuckDBPyConnection, batch_id: int, days: int = DEFAULT_DAYS) -> int:
    """Give the batch's concerns a group id (joining earlier groups where the rule allows). Returns groups touched."""
    rows = query(con, "groups_window", {"batch_id": batch_id, "days": days}).fetchall()
    window = days * 86400.0
    sources: list[str] = []
    ids: list[str] = []
    groups: list[str] = []
    key: tuple[str, bytes] | None = None
    anchor_t = 0.0
    anchor_group = ""
    touched: set[str] = set()
    for source, cid, theme, place, t, group_id, new in rows:
        place_key = (theme, bytes(place))
        if place_key != key or t - anchor_t > window:
            key, anchor_t = place_key, t
            anchor_group = group_id or f"{source}/{cid}"
        if new:
            sources.append(source)
            ids.append(cid)
            groups.append(anchor_group)
            touched.add(anchor_group)
    if sources:
        con.register("_groups", pa.table({"source": sources, "id": ids, "group_id": groups}))
        try:
            query(con, "groups_update")
        finally:
            con.unregister("_groups")
    return len(touched)
