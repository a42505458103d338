"""What a moderator does with stored concerns: review unsure themes, redact what the scrubber missed.

Every action is one transaction with its audit_log row (who, what, which concern; never the text).
"""

from __future__ import annotations

from typing import Any

import duckdb

from koban_geo.privacy.scrub import scrub_text
from koban_geo.store.scope import site_of
from koban_geo.store.settings import Settings
from koban_geo.store.sql import audit, query, transaction
from koban_geo.store.taxonomy import sensitive_codes, theme_codes


def review_queue(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, Any]]:
    """Concerns flagged for review (the classifier was unsure), newest first."""
    cursor = query(con, "review_queue", {"limit": limit})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _require(con: duckdb.DuckDBPyConnection, source: str, concern_id: str) -> None:
    row = query(con, "concern_exists", {"source": source, "id": concern_id}).fetchone()
    if not row or not row[0]:
        raise KeyError(f"no concern {source}/{concern_id}")


def redact_description(
    con: duckdb.DuckDBPyConnection, source: str, concern_id: str, new_text: str, actor: str
) -> None:
    """A moderator's fix of a stored description: scrubbed again (a redaction can never bring personal data
    back), stored and audited in one transaction. KeyError, and nothing written, if there is no such concern.
    """
    clean = scrub_text(new_text)
    with transaction(con):
        _require(con, source, concern_id)
        query(con, "concern_redact", {"source": source, "id": concern_id, "description": clean})
        audit(con, actor, "redact", f"{source}/{concern_id}")


def set_theme(
    con: duckdb.DuckDBPyConnection, settings: Settings, source: str, concern_id: str, theme: str, actor: str
) -> None:
    """A moderator's theme for a concern (clears its review flag).

    The stored point keeps the grid it was snapped to at intake: moving a concern to a sensitive theme is
    refused, since its point is finer than sensitive themes allow (the raw point is gone; re-ingest instead).
    """
    if theme not in theme_codes():
        raise ValueError(f"unknown theme code {theme!r}; codes: {', '.join(theme_codes())}")
    with transaction(con):
        _require(con, source, concern_id)
        snap = con.execute(
            "SELECT snap_m FROM concerns WHERE site = ? AND source = ? AND id = ?",
            [site_of(con), source, concern_id],
        ).fetchone()
        if theme in sensitive_codes() and snap and snap[0] < settings.sensitive_grid_m:
            raise ValueError(
                f"{source}/{concern_id} was snapped to {snap[0] or 'an anonymous point'} m, too fine for the "
                f"sensitive theme {theme} ({settings.sensitive_grid_m} m); re-ingest it with that theme instead"
            )
        query(con, "concern_set_theme", {"source": source, "id": concern_id, "theme": theme})
        audit(con, actor, "set_theme", f"{source}/{concern_id} -> {theme}")
