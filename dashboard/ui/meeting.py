"""Shared meeting pieces: the join code, the live tally (the phones' own page is web/phone.py)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import streamlit as st

from ui import store
from ui.i18n import _, ngettext


def role_label(role: str) -> str:
    return {"resident": _("Residents"), "officer": _("Officers"), "partner": _("Partners")}[role]


def join_url(code: str, lang: str) -> str:
    """The address phones open: settings.public_url, else the address this browser used."""
    from urllib.parse import urlsplit

    base = store.settings().public_url
    if not base:
        parts = urlsplit(str(getattr(st.context, "url", "") or ""))
        base = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
    return f"{base.rstrip('/')}/vote?meeting={code}&lang={lang}"


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


def group_summary(results: Any) -> str:
    parts = [
        ngettext(
            "{group}: {n} phone, weight {w:g}", "{group}: {n} phones, weight {w:g}", g.participants
        ).format(group=role_label(role), n=g.participants, w=g.weight)
        for role, g in results.groups.items()
    ]
    return " · ".join(parts)
