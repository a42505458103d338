"""The analytics filter every map and table takes: themes, time window (with presets), areas, audience."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import streamlit as st

from koban_geo.analysis.grid import Filter
from koban_geo.privacy.audience import Audience
from koban_geo.store.i18n import format_date
from koban_geo.store.taxonomy import theme_label as taxonomy_theme_label
from koban_geo.store.taxonomy import themes
from ui import auth, store
from ui.i18n import _, keep, lang_key

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


def open_layer_label(name: str) -> str:
    """An open-data layer of the store in words (the demo's three known ones translated; others as named)."""
    known = {
        "licensed_premises": _("Licensed premises"),
        "streetlights": _("Street lights"),
        "streets": _("Streets"),
    }
    return known.get(name, name.replace("_", " "))


def theme_label(code: str, lang: str) -> str:
    """A theme's label in `lang` (the taxonomy owns theme labels)."""
    return taxonomy_theme_label(code, lang)


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


CHOICE = "koban-filter-choice"  # the map's last choice (not a widget key: it outlives the map page's widgets)


def current_choice() -> dict[str, Any]:
    """The time window, themes and areas last chosen on the map (the defaults before any choice)."""
    saved = st.session_state.get(CHOICE) or {}
    return {"themes": list(saved.get("themes", [])), "preset": saved.get("preset", "12m"),
            "dates": saved.get("dates"), "areas": list(saved.get("areas", []))}  # fmt: skip


def choose(lang: str, audience: Audience, *, key: str, remember: bool) -> Filter:
    """The filter widgets (themes, time window, areas) in the current container, starting from the map's
    current choice; `remember` makes this the map's choice that other pages (exports) start from."""
    settings = store.settings()
    start = current_choice()
    allowed = [t for t in themes() if not t.sensitive or not audience.aggregates_only]
    codes = [t.code for t in allowed]
    # Widgets with translated labels get a key per language (see ui.i18n.lang_key): a language switch
    # then shows every value in the new language at once, starting from the same codes.
    suffix = "" if lang == "en" else f"-{lang}"
    k_themes, k_preset, k_areas = f"{key}-themes{suffix}", f"{key}-preset{suffix}", f"{key}-areas"
    seeds = {k_themes: [c for c in start["themes"] if c in codes], k_preset: start["preset"],
             k_areas: start["areas"]}  # fmt: skip
    if start["dates"]:
        seeds[f"{key}-dates"] = tuple(start["dates"])
    for widget, value in seeds.items():  # a widget's value once set is its own; the seed only starts it
        if widget not in st.session_state:
            st.session_state[widget] = value
    chosen = st.multiselect(
        _("Themes"),
        codes,
        format_func=lambda c: theme_label(c, lang) + (" ⚠" if c in _sensitive() else ""),
        key=k_themes,
        placeholder=_("All themes except sensitive ones"),
    )
    preset = st.selectbox(_("Time window"), PRESETS, format_func=_preset_label, key=k_preset)
    last = _last_meeting()
    since, until = window(preset, date.today(), last)
    dates = None
    if preset == "meeting" and last is None:
        st.caption(_("No closed meeting yet: showing everything."))
    if preset == "custom":
        if f"{key}-dates" not in st.session_state:
            st.session_state[f"{key}-dates"] = (date.today() - timedelta(days=90), date.today())
        picked = st.date_input(_("From - to"), key=f"{key}-dates")
        if isinstance(picked, tuple) and len(picked) == 2:
            dates = (picked[0], picked[1])
            since = datetime.combine(picked[0], time())
            until = datetime.combine(picked[1] + timedelta(days=1), time())
    areas = _areas()
    picked_areas = st.multiselect(
        _("Areas"), list(areas), format_func=areas.__getitem__, key=k_areas,
        placeholder=_("All areas"),
    )  # fmt: skip
    if remember:
        st.session_state[CHOICE] = {"themes": list(chosen), "preset": preset, "dates": dates,
                                    "areas": list(picked_areas)}  # fmt: skip
    return Filter(
        themes=tuple(chosen) or None,
        since=since,
        until=until,
        areas=tuple(picked_areas) or None,
        unit=settings.count_unit,
    )


def describe(flt: Filter, lang: str) -> str:
    """The filter in words, for a caption and a file's metadata ("Noise, Drugs · 7 Dec 2025 – 7 Dec 2026": dates in the language's own way)."""
    named = (
        ", ".join(theme_label(t, lang) for t in flt.themes)
        if flt.themes
        else _("All themes except sensitive ones")
    )
    if flt.since or flt.until:
        last = (flt.until - timedelta(days=1)) if flt.until else None
        span = format_date(flt.since, lang) if flt.since else "…"
        span += " – " + (format_date(last, lang) if last else "…")
    else:
        span = _("Everything")
    areas = _areas()
    where = ", ".join(areas.get(a, a) for a in flt.areas) if flt.areas else _("All areas")
    return f"{named} · {span} · {where}"


def sidebar(have: Audience, lang: str, *, key: str = "flt") -> tuple[Filter, Audience]:
    """Filter widgets in the sidebar; returns the filter and the tier to render (own or a preview below).
    The choice is remembered as the map's (see `current_choice`)."""
    with st.sidebar:
        st.subheader(_("Filters"))
        tiers = auth.previewable(have)
        audience = st.selectbox(
            _("Show as"), tiers, format_func=audience_label, key=lang_key(f"{key}-audience"),
            help=_("Preview what a lower tier sees, e.g. the meeting screen."),
        )  # fmt: skip
        keep(f"{key}-audience", audience)
        flt = choose(lang, audience, key=key, remember=True)
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
