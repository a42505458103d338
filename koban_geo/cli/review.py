"""`koban-geo review`: moderation of concerns the classifier was unsure of, and of personal data the scrubber
missed. Thin commands over koban_geo.privacy.moderation; every action is audited there."""

from __future__ import annotations

import json

import click

from koban_geo.cli.common import StoreContext, fail

__all__ = ["review"]


@click.group()
def review() -> None:
    """Moderation: concerns the classifier was unsure of, theme fixes, redaction of missed personal data."""


@review.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per concern.")
@click.pass_obj
def review_list(obj: StoreContext, limit: int, as_json: bool) -> None:
    """Concerns flagged for review, newest first (scrubbed text only)."""
    from koban_geo.privacy.moderation import review_queue

    con = obj.connect(read_only=True)
    for row in review_queue(con, limit):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))
        else:
            click.echo(
                f"{row['source']}/{row['id']}\t{row['reported_at']}\t{row['theme']}\t{row['description'] or ''}"
            )
    con.close()


@review.command("theme")
@click.argument("source")
@click.argument("concern_id")
@click.argument("theme")
@click.option("--actor", required=True, help="Who decides (recorded in the audit log).")
@click.pass_obj
def review_theme(obj: StoreContext, source: str, concern_id: str, theme: str, actor: str) -> None:
    """Set the THEME of concern SOURCE CONCERN_ID and clear its review flag."""
    from koban_geo.privacy.moderation import set_theme

    con = obj.connect()
    try:
        set_theme(con, obj.settings, source, concern_id, theme, actor)
    except (KeyError, ValueError) as exc:
        fail(str(exc).strip("'\""))
    con.close()
    click.echo(f"{source}/{concern_id} -> {theme}")


@review.command("redact")
@click.argument("source")
@click.argument("concern_id")
@click.argument("text")
@click.option("--actor", required=True, help="Who redacts (recorded in the audit log).")
@click.pass_obj
def review_redact(obj: StoreContext, source: str, concern_id: str, text: str, actor: str) -> None:
    """Replace the stored description of SOURCE CONCERN_ID with TEXT (scrubbed again before it is stored)."""
    from koban_geo.privacy.moderation import redact_description

    con = obj.connect()
    try:
        redact_description(con, source, concern_id, text, actor)
    except KeyError as exc:
        fail(str(exc).strip("'\""))
    con.close()
    click.echo(f"{source}/{concern_id} redacted")
