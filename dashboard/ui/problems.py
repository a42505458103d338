"""The SARA page's shared pieces: problem cards made from the map (a clicked area or cell), and the Analysis
tab's risk factors and near repeats (tables and sentences from koban_geo.analysis, in the session's language)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from koban_geo.analysis.grid import Filter
from ui import auth, store
from ui.i18n import _
from ui.text import plain


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


# ---------------------------------------------------------------------------------------------------------
# Analysis tab: risk factors (why here?) and near repeats (why now?), from koban_geo.analysis
# ---------------------------------------------------------------------------------------------------------

NEAR_REPEAT_THEMES = ("burglary", "theft")
NEAR_REPEAT_PERMUTATIONS = 99


@st.cache_data(max_entries=16, show_spinner=False)
def _risk_report(
    version: str, layers: tuple[str, ...], themes: tuple[str, ...], audience: str
) -> dict[str, Any]:
    """koban_geo.analysis.risk.risk_factors as a plain dict, cached per data version."""
    from koban_geo.analysis.risk import risk_factors

    settings = store.settings()
    flt = Filter(themes=themes, unit=settings.count_unit)
    return risk_factors(store.reader(), settings, list(layers), flt, audience=audience).as_dict()


@st.cache_data(max_entries=8, show_spinner=False)
def _near_repeat_report(version: str, theme: str, audience: str) -> dict[str, Any]:
    """koban_geo.analysis.near_repeat.near_repeat for one theme (fixed seed: the same table on every run)."""
    from koban_geo.analysis.near_repeat import near_repeat

    settings = store.settings()
    flt = Filter(themes=(theme,), unit=settings.count_unit)
    return near_repeat(store.reader(), settings, flt, audience=audience,
                       permutations=NEAR_REPEAT_PERMUTATIONS, seed=0).as_dict()  # fmt: skip


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "∞"
    return ">999" if value > 999 else f"{value:.{digits}f}"


def _where(row: dict[str, Any]) -> str:
    from ui.filters import open_layer_label

    layer = open_layer_label(str(row["layer"])).lower()
    if row["from_m"] == 0:
        return _("within {m} m of {layer}").format(m=f"{row['to_m']:g}", layer=layer)
    return _("{lo}–{hi} m from {layer}").format(
        lo=f"{row['from_m'] + 1:g}", hi=f"{row['to_m']:g}", layer=layer
    )


def risk_sentence(row: dict[str, Any], reference: dict[str, Any], what: str, tests: int) -> str:
    """One band in plain words, in the session's language."""
    far = f"{reference['from_m']:g}"
    from ui.filters import open_layer_label

    layer = open_layer_label(str(row["layer"])).lower()
    where = _where(row)
    if row["count"] is None:
        return _("{where}: hidden (too few concerns).").format(where=where)
    if row["cells"] == 0:
        return _("No part of the study area lies {where}.").format(where=where)
    if reference["cells"] == 0:
        return _(
            "Nothing to compare with: no part of the study area is more than {far} m from {layer}."
        ).format(far=far, layer=layer)
    if row["rr"] is None or row["rr_low"] is None:
        return _(
            "{where}: not compared (no concerns more than {far} m away, or the count there is hidden)."
        ).format(where=where, far=far)
    text = _(
        "{themes}: {rr} times as dense {where} as more than {far} m away (95 % CI {low}–{high})."
    ).format(
        themes=what,
        rr=_num(row["rr"]),
        where=where,
        far=far,
        low=_num(row["rr_low"]),
        high=_num(row["rr_high"]),
    )
    if row["significant"]:
        return text + " " + _("Significant after correcting for {n} tests.").format(n=tests)
    return text + " " + _("Not clearly different (q = {q}).").format(q=f"{row['q']:.2f}")


def risk_section(themes: tuple[str, ...], place_layers: list[str], audience: str, lang: str) -> None:
    """Risk factors for the card's themes around the layers picked (default: those found in the place)."""
    import pandas as pd

    from koban_geo.analysis.risk import layer_names
    from ui.filters import open_layer_label, theme_label

    st.subheader(_("Why here? Risk factors"))
    known = list(layer_names(store.reader()))
    if not known or not themes:
        st.caption(
            _("No open-data layers loaded: ingest one (koban-geo ingest --kind layer) to see risk factors.")
        )
        return
    default = [name for name in place_layers if name in known] or known[:3]
    chosen = st.multiselect(
        _("Layers"),
        known,
        default=default,
        key="risk-layers",
        format_func=open_layer_label,
    )
    if not chosen:
        return
    try:
        report = _risk_report(store.data_version(), tuple(chosen), tuple(themes), audience)
    except ValueError as exc:  # koban_geo.analysis.risk.RiskError: e.g. no study area yet
        st.info(plain(exc))
        return
    rows, meta = report["rows"], report["meta"]
    what = ", ".join(theme_label(t, lang) for t in meta["filter"]["themes"])
    table = pd.DataFrame(
        {
            _("Layer"): [open_layer_label(str(r["layer"])) for r in rows],
            _("Band"): [_band(r["from_m"], r["to_m"], "m") for r in rows],
            _("Squares"): [r["cells"] for r in rows],
            _("Concerns"): pd.array([r["count"] for r in rows], dtype="Int64"),
            _("Relative risk"): [
                _("reference") if r["reference"] else "" if r["rr"] is None else _num(r["rr"], 2)
                for r in rows
            ],
            _("95 % CI"): [
                ""
                if r["rr"] is None or r["rr_low"] is None
                else f"{_num(r['rr_low'], 2)}–{_num(r['rr_high'], 2)}"
                for r in rows
            ],
            "q": ["" if r["q"] is None else f"{r['q']:.3f}" for r in rows],
            _("Significant"): [bool(r["significant"]) for r in rows],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    references = {r["layer"]: r for r in rows if r["reference"]}
    for row in rows:
        if not row["reference"]:
            st.write(plain(_capital(risk_sentence(row, references[row["layer"]], what, meta["tests"]))))
    st.caption(
        _("Each band is compared with the study area more than the farthest band away, on the 100 m squares "
          "concerns are snapped to; Benjamini–Hochberg correction across {n} tests.").format(n=meta["tests"])
    )  # fmt: skip
    if meta["warnings"]:
        st.caption(_("Bands were left out for layers that leave too little of the study area far away."))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _band(lo: float, hi: float | None, unit: str) -> str:
    if hi is None:
        return _("more than {n} {unit}").format(n=f"{lo:g}", unit=unit)
    if hi == 0:
        return _("same square")
    return f"{0 if lo == 0 else lo + 1:g}–{hi:g} {unit}"


def near_repeat_section(themes: tuple[str, ...], audience: str, lang: str) -> None:
    """The Knox table for each of the card's burglary or theft themes, over the whole study area."""
    import pandas as pd

    from ui.filters import theme_label

    wanted = [t for t in themes if t in NEAR_REPEAT_THEMES]
    if not wanted:
        return
    st.subheader(_("Why now? Near repeats"))
    days = _("days")
    for theme in wanted:
        try:
            report = _near_repeat_report(store.data_version(), theme, audience)
        except ValueError as exc:  # koban_geo.analysis.near_repeat.NearRepeatError: e.g. too many pairs
            st.info(plain(exc))
            continue
        rows, meta = report["rows"], report["meta"]
        label = theme_label(theme, lang)
        columns = list(dict.fromkeys((r["days_from"], r["days_to"]) for r in rows))
        table: dict[str, list[str]] = {}
        for row in rows:
            cell = "–" if row["pairs"] is None else f"({row['pairs']})"
            if row["knox_ratio"] is not None:
                mark = "**" if row["significant_corrected"] else "*" if row["significant"] else ""
                cell = f"{row['knox_ratio']:.2f}{mark} ({row['pairs']})"
            table.setdefault(_band(row["distance_from_m"], row["distance_to_m"], "m"), []).append(cell)
        frame = pd.DataFrame(table, index=[_band(lo, hi, days) for lo, hi in columns]).T
        st.write(
            plain(
                _("{theme}: {n} events").format(
                    theme=label, n="–" if meta["events"] is None else meta["events"]
                )
            )
        )
        st.dataframe(frame, width="stretch")
        found = [r for r in rows if r["significant"]]
        for row in found:
            st.write(plain(
                _("{theme}: {ratio} times as many pairs as chance would give at {distance} and {time} (p = {p}).").format(
                    theme=label, ratio=f"{row['knox_ratio']:.1f}",
                    distance=_band(row["distance_from_m"], row["distance_to_m"], "m"),
                    time=_band(row["days_from"], row["days_to"], days), p=f"{row['p']:.3f}",
                )
            ))  # fmt: skip
        corrected = sum(bool(r["significant_corrected"]) for r in rows)
        st.write(
            _("{n} of {cells} cells significant at 5 % (about {expected} by chance alone); {corrected} after "
              "correcting for the number of cells.").format(n=len(found), cells=meta["cells_tested"],
                                                           expected=f"{meta['expected_false_positives']:g}",
                                                           corrected=corrected)
        )  # fmt: skip
    st.caption(
        _("Knox ratio: pairs of events observed / expected if times had nothing to do with places (mean of {n} "
          "permutations); (pairs). * p ≤ 0.05; ** also after correcting for the number of cells. Places are "
          "snapped to 100 m squares, so the first band holds same-square and neighbouring-square pairs.").format(
            n=NEAR_REPEAT_PERMUTATIONS
        )
    )  # fmt: skip
