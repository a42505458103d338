"""The analytics filter every map and table takes: themes, time window (with presets), areas, audience."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import streamlit as st

from koban_geo.analysis.grid import Filter
from koban_geo.privacy.audience import Audience
from koban_geo.store.taxonomy import themes
from ui import auth, store
from ui.i18n import _

PRESETS = ("4w", "3m", "12m", "meeting", "all", "custom")


def _preset_label(code: str) -> str:
    return {
        "4w": _("Last 4 weeks"),
        "3m": _("Last 3 months"),
        "12m": _("Last 12 months"),
        "meeting": _("Since the last meeting"),
        "all": _("Everything"),
        "custom": _("Choose dates"),
    }[code]


def audience_label(audience: Audience) -> str:
    return {
        Audience.PUBLIC: _("Public (meeting screen, exports for everyone)"),
        Audience.COUNCIL: _("Council"),
        Audience.OFFICER: _("Officer"),
        Audience.ANALYST: _("Analyst"),
    }[audience]


def theme_label(code: str, lang: str) -> str:
    for theme in themes():
        if theme.code == code:
            return theme.labels.get(lang) or theme.labels["en"]
    return code


def window(
    preset: str, today: date, last_meeting: date | None = None
) -> tuple[datetime | None, datetime | None]:
    """[since, until) of a preset; until is the end of today."""
    end = datetime.combine(today + timedelta(days=1), time())
    if preset == "4w":
        return end - timedelta(weeks=4), end
    if preset == "3m":
        return end - timedelta(days=91), end
    if preset == "12m":
        return end - timedelta(days=365), end
    if preset == "meeting":
        return (datetime.combine(last_meeting, time()) if last_meeting else None), end
    return None, None


def sidebar(have: Audience, lang: str, *, key: str = "flt") -> tuple[Filter, Audience]:
    """Filter widgets in the sidebar; returns the filter and the tier to render (own or a preview below)."""
    settings = store.settings()
    with st.sidebar:
        st.subheader(_("Filters"))
        tiers = auth.previewable(have)
        audience = st.selectbox(
            _("Show as"), tiers, format_func=audience_label, key=f"{key}-audience",
            help=_("Preview what a lower tier sees, e.g. the meeting screen."),
        )  # fmt: skip
        allowed = [t for t in themes() if not t.sensitive or not audience.aggregates_only]
        chosen = st.multiselect(
            _("Themes"),
            [t.code for t in allowed],
            format_func=lambda c: theme_label(c, lang) + (" ⚠" if c in _sensitive() else ""),
            key=f"{key}-themes",
            placeholder=_("All themes except sensitive ones"),
        )
        preset = st.selectbox(
            _("Time window"), PRESETS, index=2, format_func=_preset_label, key=f"{key}-preset"
        )
        last = _last_meeting()
        since, until = window(preset, date.today(), last)
        if preset == "meeting" and last is None:
            st.caption(_("No closed meeting yet: showing everything."))
        if preset == "custom":
            picked = st.date_input(
                _("From - to"), (date.today() - timedelta(days=90), date.today()), key=f"{key}-dates"
            )
            if isinstance(picked, tuple) and len(picked) == 2:
                since, until = window("all", date.today())
                since = datetime.combine(picked[0], time())
                until = datetime.combine(picked[1] + timedelta(days=1), time())
        areas = _areas()
        picked_areas = st.multiselect(
            _("Areas"), list(areas), format_func=areas.__getitem__, key=f"{key}-areas",
            placeholder=_("All areas"),
        )  # fmt: skip
    flt = Filter(
        themes=tuple(chosen) or None,
        since=since,
        until=until,
        areas=tuple(picked_areas) or None,
        unit=settings.count_unit,
    )
    return flt, audience


def _sensitive() -> frozenset[str]:
    from koban_geo.store.taxonomy import sensitive_codes

    return sensitive_codes()


def _areas() -> dict[str, str]:
    from koban_geo.analysis.areas import area_names

    return area_names(store.reader())


def _last_meeting() -> date | None:
    from koban_geo.community.meetings import last_closed_meeting_date

    return last_closed_meeting_date(store.reader())
