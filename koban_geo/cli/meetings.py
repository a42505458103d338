"""`koban-geo meetings`: neighbourhood meetings from the command line (prepare, open, close, read results).

Registered on the main group in koban_geo/cli.py with `cli.add_command(meetings)`; ctx.obj is the CLI's
store context (`.connect()`, `.settings`). Voting itself happens on phones through the dashboard; while the
dashboard server runs it holds the store, and these commands say so and stop (close the meeting there).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import click

from koban_geo.cli.common import StoreContext, echo_json, fail, os_user
from koban_geo.store.i18n import LANGUAGES

PROPOSAL_DAYS = 90


_actor = click.option(
    "--actor",
    default=os_user,
    show_default="your OS user name",
    help="Who does this (recorded in the audit log).",
)
_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
_lang = click.option(
    "--lang", type=click.Choice(LANGUAGES), default="en", show_default=True, help="Language of item labels."
)
_areas = click.option(
    "--area", "areas", multiple=True, required=True, metavar="CODE", help="Area code; repeatable."
)


def _window(
    since: datetime | None, until: datetime | None, meeting_day: date | None = None
) -> tuple[datetime, datetime]:
    end = until or datetime.combine(meeting_day or date.today(), datetime.min.time())
    return since or end - timedelta(days=PROPOSAL_DAYS), end


@click.group("meetings")
def meetings() -> None:
    """Neighbourhood meetings: the items put to the vote, join codes, and results.

    A meeting is a draft (its items can change), then open (phones vote with its join code), then closed.
    """


@meetings.command("list")
@click.option(
    "--status", type=click.Choice(["draft", "open", "closed"]), default=None, help="Only this state."
)
@click.option(
    "--area", "areas", multiple=True, metavar="CODE", help="Only meetings for this area; repeatable."
)
@_json
@click.pass_obj
def list_cmd(obj: StoreContext, status: str | None, areas: tuple[str, ...], as_json: bool) -> None:
    """List meetings, newest date first."""
    from koban_geo.community.meetings import list_meetings

    con = obj.connect()
    try:
        found = list_meetings(con, status=status, areas=areas or None)
    finally:
        con.close()
    if as_json:
        echo_json([{k: v for k, v in m.to_dict().items() if k != "candidates"} for m in found])
        return
    if not found:
        click.echo("no meetings")
    for m in found:
        click.echo(
            f"{m.id:>4}  {m.date.isoformat()}  {m.status:<6}  {m.code}  {m.title}  [{', '.join(m.areas)}]"
        )


@meetings.command("propose")
@_areas
@click.option(
    "--since",
    type=click.DateTime(),
    default=None,
    help=f"First day counted (default: {PROPOSAL_DAYS} days before --until).",
)
@click.option(
    "--until", type=click.DateTime(), default=None, help="Day after the last day counted (default: today)."
)
@click.option(
    "--limit", type=click.IntRange(1, 20), default=8, show_default=True, help="Most items proposed."
)
@_lang
@_json
@click.pass_obj
def propose(obj: StoreContext, areas: tuple[str, ...], since: datetime | None, until: datetime | None, limit: int,
            lang: str, as_json: bool) -> None:  # fmt: skip
    """Propose items from the public-tier analytics: the top themes and hot spots of the areas."""
    from koban_geo.community.meetings import MeetingError
    from koban_geo.community.proposals import propose_candidates

    start, end = _window(since, until)
    con = obj.connect()
    try:
        found = propose_candidates(con, obj.settings, list(areas), start, end, limit)
    except MeetingError as exc:
        fail(str(exc))
    finally:
        con.close()
    if as_json:
        echo_json([c.to_dict() for c in found])
        return
    click.echo(f"concerns {start.date().isoformat()} .. {end.date().isoformat()} (public tier, k-suppressed)")
    for c in found:
        click.echo(f"  {c.key:<22} {c.label(lang)}  ({c.count} concerns)")


@meetings.command("create")
@click.option("--title", required=True, help="Title shown on the meeting screen.")
@click.option(
    "--date", "when", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Meeting day (YYYY-MM-DD)."
)
@_areas
@click.option("--method", type=click.Choice(["dots", "ranking"]), default="dots", show_default=True,
              help="Dot voting or ranking (Borda count).")  # fmt: skip
@click.option(
    "--budget", type=click.IntRange(1, 20), default=3, show_default=True, help="Dots per participant."
)
@click.option("--max-per-item", type=click.IntRange(1, 20), default=2, show_default=True,
              help="Most dots one participant may put on one item.")  # fmt: skip
@click.option("--theme", "themes", multiple=True, metavar="CODE",
              help="Put this theme to the vote; repeatable (default: the proposed items).")  # fmt: skip
@click.option("--since", type=click.DateTime(), default=None,
              help=f"Proposals: first day counted (default: {PROPOSAL_DAYS} days before --until).")  # fmt: skip
@click.option("--until", type=click.DateTime(), default=None,
              help="Proposals: day after the last day counted (default: the meeting day).")  # fmt: skip
@click.option(
    "--limit", type=click.IntRange(2, 20), default=8, show_default=True, help="Most items proposed."
)
@click.option("--open", "open_now", is_flag=True, help="Open the meeting for voting at once.")
@_actor
@_json
@click.pass_obj
def create(obj: StoreContext, title: str, when: datetime, areas: tuple[str, ...], method: str, budget: int,
           max_per_item: int, themes: tuple[str, ...], since: datetime | None, until: datetime | None,
           limit: int, open_now: bool, actor: str, as_json: bool) -> None:  # fmt: skip
    """Create a meeting with its join code; items are proposed from the analytics unless --theme is given."""
    from koban_geo.community.meetings import (
        MeetingError,
        Rules,
        create_meeting,
        open_meeting,
        theme_candidate,
    )
    from koban_geo.community.proposals import propose_candidates

    con = obj.connect()
    try:
        rules = Rules("ranking") if method == "ranking" else Rules("dots", budget, max_per_item)
        if themes:
            items = [theme_candidate(code) for code in themes]
        else:
            start, end = _window(since, until, when.date())
            items = propose_candidates(con, obj.settings, list(areas), start, end, limit)
        meeting = create_meeting(
            con, title=title, date=when.date(), areas=list(areas), candidates=items, rules=rules, actor=actor
        )
        if open_now:
            meeting = open_meeting(con, meeting.id, actor)
    except MeetingError as exc:
        fail(str(exc))
    finally:
        con.close()
    if as_json:
        echo_json(meeting.to_dict())
        return
    click.echo(
        f"meeting {meeting.id} ({meeting.status}): join code {meeting.code}; {meeting.rules.describe()}"
    )
    for c in meeting.candidates:
        click.echo(f"  {c.key:<22} {c.label()}")


def _move(obj: StoreContext, meeting_id: int, actor: str, to: str) -> None:
    from koban_geo.community.meetings import MeetingError, close_meeting, open_meeting

    con = obj.connect()
    try:
        meeting = (open_meeting if to == "open" else close_meeting)(con, meeting_id, actor)
    except MeetingError as exc:
        fail(str(exc))
    finally:
        con.close()
    click.echo(f"meeting {meeting.id} {meeting.status} (join code {meeting.code})")


@meetings.command("open")
@click.argument("meeting_id", type=int)
@_actor
@click.pass_obj
def open_cmd(obj: StoreContext, meeting_id: int, actor: str) -> None:
    """Open a draft meeting for voting; its items are fixed from then on."""
    _move(obj, meeting_id, actor, "open")


@meetings.command("close")
@click.argument("meeting_id", type=int)
@_actor
@click.pass_obj
def close(obj: StoreContext, meeting_id: int, actor: str) -> None:
    """Close an open meeting: no more ballots; the results are final."""
    _move(obj, meeting_id, actor, "closed")


@meetings.command("results")
@click.argument("meeting_id", type=int)
@_lang
@_json
@click.pass_obj
def results_cmd(obj: StoreContext, meeting_id: int, lang: str, as_json: bool) -> None:
    """Results per group (residents, officers, partners) and combined with the meeting's weights."""
    from koban_geo.community.meetings import MeetingError
    from koban_geo.community.voting import results

    con = obj.connect()
    try:
        res = results(con, meeting_id)
    except MeetingError as exc:
        fail(str(exc))
    finally:
        con.close()
    if as_json:
        echo_json(res.to_dict(lang))
        return
    m = res.meeting
    click.echo(f"{m.title} ({m.date.isoformat()}, {m.status}, join code {m.code}): {res.ballots} ballots")
    click.echo(m.rules.describe())
    groups = list(res.groups.values())
    click.echo("weights: " + ", ".join(f"{g.role} {g.weight:g}" for g in groups))
    click.echo(res.formula)
    head = f"{'rank':>4}  {'combined':>8}  " + "  ".join(
        f"{g.role + f' ({g.participants})':>14}" for g in groups
    )
    click.echo(head + "  item")
    for r in res.ranking:
        cells = "  ".join(f"{g.points[r.candidate.key]:>6} {g.shares[r.candidate.key]:>6.1%}" for g in groups)
        click.echo(f"{r.rank:>4}  {r.combined:>8.1%}  {cells}  {r.candidate.label(lang)}")
    for f in res.facilitator_counts:
        counts = ", ".join(f"{k} {v}" for k, v in f.counts.items())
        click.echo(
            f"facilitator count {f.id} ({f.source}, {f.role}): {counts}" + (f" - {f.note}" if f.note else "")
        )


@meetings.command("slips")
@click.argument("meeting_id", type=int)
@click.option("--count", type=int, required=True, help="How many single-use ballot slips to issue.")
@click.option(
    "--out", type=click.Path(dir_okay=False, writable=True), default=None,
    help="Also write a printable sheet of the slips (HTML, cut along the lines).",
)  # fmt: skip
@_lang
@_actor
@click.pass_obj
def slips_cmd(obj: StoreContext, meeting_id: int, count: int, out: str | None, lang: str, actor: str) -> None:
    """Issue ballot slips: the meeting then takes a phone's first ballot only with an unused slip.

    Strict one-person-one-vote: a private window or a second browser cannot vote again without a new
    slip. Slips are printed here once (the store keeps only their hashes); issue them before voting opens
    (more can be added while it is open).
    """
    from pathlib import Path

    from koban_geo.community.admission import issue_slips
    from koban_geo.community.meetings import MeetingError, get_meeting
    from koban_geo.outputs.slip_sheet import slip_sheet

    con = obj.connect()
    try:
        slips = issue_slips(con, meeting_id, count, actor)
        meeting = get_meeting(con, meeting_id)
    except MeetingError as exc:
        fail(str(exc))
    finally:
        con.close()
    if out:
        Path(out).write_text(
            slip_sheet(meeting, slips, obj.settings.public_url or "", lang), encoding="utf-8"
        )
    click.echo(f"meeting {meeting.id} (join code {meeting.code}): {len(slips)} ballot slips")
    for slip in slips:
        click.echo(slip)


@meetings.command("groups")
@click.argument("meeting_id", type=int)
@_actor
@click.pass_obj
def groups_cmd(obj: StoreContext, meeting_id: int, actor: str) -> None:
    """Show the group codes of a meeting: a phone that enters one votes as an officer or a partner."""
    from koban_geo.community.admission import group_codes
    from koban_geo.community.meetings import MeetingError

    con = obj.connect()
    try:
        codes = group_codes(con, meeting_id, actor)
    except MeetingError as exc:
        fail(str(exc))
    finally:
        con.close()
    for role, code in codes.items():
        click.echo(f"{role:<8} {code}")


@meetings.command("headcount")
@click.argument("meeting_id", type=int)
@click.argument("people", type=int)
@_actor
@click.pass_obj
def headcount_cmd(obj: StoreContext, meeting_id: int, people: int, actor: str) -> None:
    """Record how many people are in the room, to compare with the ballots cast."""
    from koban_geo.community.admission import set_headcount
    from koban_geo.community.meetings import MeetingError
    from koban_geo.community.voting import results

    con = obj.connect()
    try:
        set_headcount(con, meeting_id, people, actor)
        ballots = results(con, meeting_id).ballots
    except MeetingError as exc:
        fail(str(exc))
    finally:
        con.close()
    click.echo(f"meeting {meeting_id}: {people} people in the room, {ballots} ballots")
