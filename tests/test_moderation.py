"""Moderation: the review queue, theme fixes and redaction, each audited and all or nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from koban_geo.privacy import moderation
from koban_geo.privacy.moderation import redact_description, review_queue, set_theme
from tests.helpers import add_concerns


def _add_concern(con, description: str) -> None:
    row = {"id": "c-1", "reported_at": datetime(2024, 3, 12, 22), "theme": "noise", "description": description,
           "lon": 4.90, "lat": 52.37}  # fmt: skip
    add_concerns(con, [row], source="fixmystreet", with_keys=False)


def test_redact_description_scrubs_stores_and_audits(con) -> None:
    _add_concern(con, "Loud music, ask for Mrs Jansen")
    redact_description(
        con, "fixmystreet", "c-1", "Loud music, ask the neighbour on 06-12345678", "moderator:anna"
    )
    stored = con.execute(
        "SELECT description FROM concerns WHERE source = 'fixmystreet' AND id = 'c-1'"
    ).fetchone()
    assert stored == ("Loud music, ask the neighbour on [PHONE]",)
    log = con.execute("SELECT actor, action, detail FROM audit_log ORDER BY id").fetchall()
    assert log == [("moderator:anna", "redact", "fixmystreet/c-1")]


def test_redact_description_of_a_missing_concern_raises_and_logs_nothing(con) -> None:
    with pytest.raises(KeyError):
        redact_description(con, "fixmystreet", "nope", "text", "moderator:anna")
    assert con.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)


def test_redact_description_is_all_or_nothing(con, monkeypatch: pytest.MonkeyPatch) -> None:
    _add_concern(con, "original")

    def failing_audit(*args: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(moderation, "audit", failing_audit)
    with pytest.raises(RuntimeError):
        redact_description(con, "fixmystreet", "c-1", "new text", "moderator:anna")
    assert con.execute("SELECT description FROM concerns").fetchone() == ("original",)


def test_review_queue_and_theme_fix(con, settings) -> None:
    _add_concern(con, "ok")
    con.execute("UPDATE concerns SET needs_review = true, theme = 'other', theme_source = 'classified'")
    assert [(r["source"], r["id"]) for r in review_queue(con)] == [("fixmystreet", "c-1")]
    set_theme(con, settings, "fixmystreet", "c-1", "litter", "moderator:anna")
    assert review_queue(con) == []
    assert con.execute("SELECT theme, theme_source FROM concerns").fetchone() == ("litter", "moderator")
    with pytest.raises(ValueError, match="too fine for the sensitive theme"):
        set_theme(con, settings, "fixmystreet", "c-1", "domestic", "moderator:anna")
    with pytest.raises(ValueError, match="unknown theme"):
        set_theme(con, settings, "fixmystreet", "c-1", "nonsense", "moderator:anna")
