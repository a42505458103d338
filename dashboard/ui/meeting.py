"""Shared meeting pieces: the join code, the live tally (the phones' own page is web/phone.py)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import streamlit as st

from ui import store
from ui.i18n import _, ngettext
from ui.text import plain


def role_label(role: str) -> str:
    return {"resident": _("Residents"), "officer": _("Officers"), "partner": _("Partners")}[role]


def join_base() -> str:
    """The base of the join link: settings.public_url (KOBAN_PUBLIC_URL), else the address this browser used."""
    from urllib.parse import urlsplit

    base = store.settings().public_url
    if not base:
        parts = urlsplit(str(getattr(st.context, "url", "") or ""))
        base = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
    return base


def join_url(code: str, lang: str | None = None) -> str:
    """The address phones open (koban_geo.community.joining.join_url under join_base())."""
    from koban_geo.community.joining import join_url as build

    return build(join_base(), code, lang)


def public_url_notice() -> None:
    """A warning for staff, before a meeting is opened, when phones in the room could not open the join link
    (KOBAN_PUBLIC_URL unset, or pointing at this machine)."""
    from koban_geo.community.joining import public_url_problem

    problem = public_url_problem(store.settings().public_url)
    if problem is None:
        return
    st.warning(
        _(
            "Phones in the room cannot open the join link yet: KOBAN_PUBLIC_URL is not set, or it points at "
            "this computer ({url}). Set it to the address phones reach the dashboard at (for example "
            "{example}) and restart the dashboard before opening the meeting."
        ).format(url=plain(join_base() or "localhost"), example=plain("http://10.0.0.5:8501")),
        icon=":material/wifi_off:",
    )


def staff_link() -> None:
    """A small way off the projector page, whose sidebar is hidden: staff to their meetings, visitors to the
    log-in."""
    from koban_geo.privacy.audience import Audience
    from ui import auth

    if auth.tier() == Audience.PUBLIC:
        login = st.session_state.get("koban-login-page")
        if login is not None:
            st.page_link(login, label=_("Staff log-in"), icon=":material/menu:")
    else:
        st.page_link("views/meetings.py", label=_("Meetings"), icon=":material/menu:")


def qr_png(text: str) -> bytes:
    """A QR code drawn locally (segno: no service, no network)."""
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=10, border=2)
    return buffer.getvalue()


def rank_labels(ranks: list[int | None]) -> list[str]:
    """Ranks as people read them: "1.", then "2=" for each of two items sharing second place ("" if hidden)."""
    shared = {r for r in ranks if r is not None and ranks.count(r) > 1}
    return ["" if r is None else f"{r}=" if r in shared else f"{r}." for r in ranks]


def tally_table(results: Any, lang: str, *, k: int | None = None) -> pd.DataFrame:
    """Ranked items with each group's share side by side and the weighted combination.

    With k (the public meeting screen), a group with 1..k-1 phones is shown as hidden, and so is the
    combination and the order (with the weights on screen, they would give the small group's votes away).
    """
    small = {r for r, g in results.groups.items() if k is not None and 0 < g.participants < k}
    rows = []
    ranks = rank_labels([r.rank for r in results.ranking])
    for ranked, rank in zip(results.ranking, ranks, strict=True):
        key = ranked.candidate.key
        row = {"#": "–" if small else rank, _("Item"): ranked.candidate.label(lang)}
        for role, group in results.groups.items():
            row[role_label(role)] = "–" if role in small else f"{group.shares.get(key, 0.0):.0%}"
        row[_("Combined")] = "–" if small else f"{ranked.combined:.0%}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    if small and len(frame):
        frame = frame.sort_values(_("Item")).reset_index(drop=True)
    return frame


def tally_bars(results: Any, lang: str, *, k: int, top: int = 5) -> str:
    """The live tally as large horizontal bars of the top items (HTML, every label escaped).

    As in tally_table: while a group has 1..k-1 phones no share, combination or order is shown (the items
    are listed by name, without bars), so nobody's vote can be told."""
    from html import escape

    small = any(0 < g.participants < k for g in results.groups.values())
    ranked = (
        sorted(results.ranking, key=lambda r: r.candidate.label(lang)) if small else list(results.ranking)
    )
    rows = []
    for r in ranked[:top]:
        label = escape(r.candidate.label(lang))
        share = 0.0 if small else max(0.0, min(1.0, float(r.combined)))
        value = "–" if small else f"{share:.0%}"
        rows.append(
            f'<div class="koban-bar" role="listitem"><div class="koban-bar-label"><span>{label}</span>'
            f'<span class="koban-bar-value">{value}</span></div>'
            f'<div class="koban-bar-track" aria-hidden="true"><div class="koban-bar-fill" '
            f'style="width:{share * 100:.1f}%"></div></div></div>'
        )
    return f'<div class="koban-bars" role="list" data-testid="tally-bars">{"".join(rows)}</div>'


def group_summary(results: Any) -> str:
    parts = [
        ngettext(
            "{group}: {n} phone, weight {w:g}", "{group}: {n} phones, weight {w:g}", g.participants
        ).format(group=role_label(role), n=g.participants, w=g.weight)
        for role, g in results.groups.items()
    ]
    return " · ".join(parts)
