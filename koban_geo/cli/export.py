"""`koban-geo export` and `koban-geo problems`: thin commands over koban_geo.outputs.export, koban_geo.outputs.meeting_pack
and koban_geo.community.problems. The main group (koban_geo.cli.main) registers them; each takes the group's context
object (`.connect()`, `.settings`) with `click.pass_obj`.

Exit status: 0 written; 2 nothing written (bad input, unknown meeting or problem, or a privacy refusal).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from koban_geo.cli.common import fail, os_user

WHATS = ("hotspots", "areas", "priorities", "problems", "pack")
AUDIENCES = ("public", "council", "officer", "analyst")
FORMATS = ("geojson", "csv", "gpkg", "geoparquet")


def _themes(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """--themes noise,asb --themes drugs -> ('noise', 'asb', 'drugs'); None when not given."""
    codes = tuple(t.strip() for value in values for t in value.split(",") if t.strip())
    return codes or None


@click.command("export")
@click.option("--what", type=click.Choice(WHATS), required=True,
              help="hotspots (Gi* cells), areas (counts per area), priorities (a meeting's results), problems "
                   "(problem cards), or pack (a meeting's printable HTML pack; public tier).")  # fmt: skip
@click.option("--audience", type=click.Choice(AUDIENCES), default="public", show_default=True,
              help="Who the file is for; each tier gets only its share (README: audience tiers).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file; the format follows the suffix: .geojson, .csv, .gpkg, .parquet (GeoParquet) "
                   "(.html for pack).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Format, when the file name does not say it.")  # fmt: skip
@click.option("--all-cells/--cells-with-data", "all_cells", default=None,
              help="Hotspots: every cell of the study area with count, gi_z and gi_p (esda reproduces the "
                   "z-scores), or only cells with reports or a bin [default: every cell for analyst; "
                   "officer may ask; refused for public and council].")  # fmt: skip
@click.option("--meeting", "meeting_id", type=int, default=None, help="Meeting id (priorities and pack).")
@click.option("--themes", multiple=True, metavar="CODES",
              help="Theme codes, comma separated or repeated (default: every theme but the sensitive ones).")  # fmt: skip
@click.option("--since", type=click.DateTime(), default=None, help="First day counted (YYYY-MM-DD).")
@click.option(
    "--until", type=click.DateTime(), default=None, help="Day after the last one counted (YYYY-MM-DD)."
)
@click.option("--lang", default="en", show_default=True, help="Language of labels (en nl fr pl fi es pt).")
@click.option("--actor", default=None, help="Who exports, for the audit log (default: the login name).")
@click.option("--no-wkt", is_flag=True, help="CSV: leave out the geometry_wkt column (centroids stay).")
@click.pass_obj
def export_command(obj: Any, what: str, audience: str, out: Path, fmt: str | None, meeting_id: int | None,
                   themes: tuple[str, ...], since: datetime | None, until: datetime | None, lang: str,
                   actor: str | None, no_wkt: bool, all_cells: bool | None) -> None:  # fmt: skip
    """Write hotspots, area counts, a meeting's priorities or problem cards for one audience, as RFC 7946
    GeoJSON, CSV (UTF-8 with BOM), GeoPackage or GeoParquet, with the filters and privacy parameters in the file's
    metadata; or a meeting's printable pack (--what pack --meeting ID --out pack.html). Every export is
    written to the audit log."""
    from koban_geo.analysis.grid import Filter
    from koban_geo.community.meetings import MeetingError
    from koban_geo.privacy.audience import PrivacyError

    settings = obj.settings
    who = actor or os_user()
    if what in ("priorities", "pack") and meeting_id is None:
        fail(f"--what {what} needs --meeting ID")
    if what == "pack":
        if audience != "public":
            fail("a meeting pack is always public tier: leave out --audience or say public")
        from koban_geo.outputs.meeting_pack import meeting_pack

        con = obj.connect()
        try:
            assert meeting_id is not None
            path = meeting_pack(con, obj.settings, meeting_id, lang, out, actor=who)  # the site's settings
        except (ValueError, MeetingError) as exc:
            fail(str(exc))
        finally:
            con.close()
        click.echo(f"wrote the meeting pack of meeting {meeting_id} ({lang}) to {path}")
        return
    from koban_geo.outputs.export import export

    try:
        flt = Filter(themes=_themes(themes), since=since, until=until, unit=settings.count_unit)
    except ValueError as exc:
        fail(str(exc))
    con = obj.connect()
    try:
        report = export(con, obj.settings, what, audience, out, fmt, actor=who, flt=flt, meeting_id=meeting_id,
                        lang=lang, wkt=not no_wkt, all_cells=all_cells)  # fmt: skip
    except (PrivacyError, ValueError, MeetingError) as exc:
        fail(str(exc))
    finally:
        con.close()
    hidden = (
        f", {report.suppressed} hidden (fewer than {report.metadata['privacy']['k']})"
        if report.suppressed
        else ""
    )
    click.echo(
        f"wrote {report.rows} {what} rows for {report.audience}{hidden} to {report.path} ({report.format})"
    )
    if report.sidecar is not None:
        click.echo(f"metadata in {report.sidecar}")


@click.group("problems")
def problems_group() -> None:
    """Problem cards (SARA: scanning, analysis, response, assessment, closed)."""


@problems_group.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["scanning", "analysis", "response", "assessment", "closed"]),
              help="Only cards in this status; repeatable.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object per card.")
@click.pass_obj
def problems_list(obj: Any, statuses: tuple[str, ...], as_json: bool) -> None:
    """The problem cards, newest first."""
    from koban_geo.community.problems import list_problems

    con = obj.connect(read_only=True)
    try:
        frame = list_problems(con, statuses or None)
    finally:
        con.close()
    for row in frame.to_dict("records"):
        if as_json:
            click.echo(json.dumps(row, default=str, ensure_ascii=False))
        else:
            themes = ", ".join(row["themes"] or [])
            click.echo(f"{row['id']:>5}  {row['status']:<10}  {row['area_code'] or '-':<10}  {themes:<24}  "
                       f"{row['title']}")  # fmt: skip
    if not as_json and frame.empty:
        click.echo("no problem cards")


@problems_group.command("show")
@click.argument("problem_id", type=int)
@click.option("--audience", type=click.Choice(AUDIENCES[:3]), default="officer", show_default=True,
              help="Show the card as this audience would see it.")  # fmt: skip
@click.option("--history", is_flag=True, help="Add the card's audit log rows (officer tier).")
@click.pass_obj
def problems_show(obj: Any, problem_id: int, audience: str, history: bool) -> None:
    """One problem card as JSON, as `--audience` may see it."""
    from koban_geo.community.problem_card import card
    from koban_geo.community.problems import ProblemError
    from koban_geo.community.problems import history as card_history

    con = obj.connect(read_only=True)
    try:
        shown = card(con, obj.settings, problem_id, audience=audience)
        if shown is None:
            fail(f"problem card {problem_id} is not shown to the {audience} tier (sensitive themes only)")
        from koban_geo.store.geojson import geometry_json

        doc = {"place": geometry_json(shown.place), **shown.properties}
        if history and audience == "officer":
            doc["history"] = card_history(con, problem_id)
    except ProblemError as exc:
        fail(str(exc))
    finally:
        con.close()
    click.echo(json.dumps(doc, default=str, ensure_ascii=False, indent=1))
