"""Problem cards made from the map (a clicked area or cell) for the SARA page."""

from __future__ import annotations

from koban_geo.analysis.grid import Filter
from ui import auth, store
from ui.i18n import _


def action_statuses() -> dict[str, str]:
    """Action status code -> its label in the session's language (koban_geo.community.problems.ACTION_STATUSES)."""
    return {
        "planned": _("Planned"),
        "in_progress": _("In progress"),
        "done": _("Done"),
        "dropped": _("Dropped"),
    }


def create_from_place(kind: str, ref: str, title: str, flt: Filter, chosen: list[str] | None = None) -> int:
    """A new card in 'scanning' for an area (ref = area code) or a 100 m cell (ref = WKT), about the
    `chosen` themes (else the filter's)."""
    from koban_geo.community.problems import create_problem

    me = auth.current()
    where = {"area": ref} if kind == "area" else {"place": ref}
    return create_problem(
        store.connection(), store.settings(), actor=me.username if me else "officer", title=title,
        themes=list(chosen or flt.themes or ()) or None, **where,
    )  # fmt: skip
