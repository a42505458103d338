"""Shared page furniture: the precision note, translated errors instead of tracebacks, the projector style."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from ui.i18n import _
from ui.text import escape, plain  # noqa: F401 - re-exported: pages import them from here too


def precision_note(text: str, *, key: str = "precision-note") -> None:
    """The note every output carries ("locations snapped to a 100 m grid; ..."), always visible."""
    st.info(text, icon="🔒")


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Show a plain, translated message for errors a user can act on, never a traceback."""
    from koban_geo.privacy.audience import PrivacyError
    from koban_geo.store.db import StoreError

    try:
        yield
    except StoreError as exc:
        st.error(_("The store cannot be opened.") + " " + plain(exc))
    except PrivacyError:
        st.error(_("This view is not available for this audience."))
    except ValueError as exc:
        st.error(_("This could not be shown: {reason}").format(reason=plain(exc)))


PROJECTOR_CSS = """
<style>
/* Meeting mode: large type, high contrast (WCAG 2.1 AA: text at least 4.5:1, here about 15:1). */
[data-testid="stAppViewContainer"], [data-testid="stHeader"] { background: #ffffff; color: #111111; }
[data-testid="stAppViewContainer"] p, [data-testid="stAppViewContainer"] li,
[data-testid="stAppViewContainer"] td, [data-testid="stAppViewContainer"] th { font-size: 1.45rem; }
[data-testid="stAppViewContainer"] h1 { font-size: 3rem; }
[data-testid="stAppViewContainer"] h2 { font-size: 2.2rem; }
[data-testid="stMetricValue"] { font-size: 3rem; }
.koban-code { font-size: 4rem; font-weight: 800; letter-spacing: 0.3rem; color: #111111; }
.block-container { max-width: 100%; padding-top: 4rem; }  /* clear of Streamlit's 60 px header */
</style>
"""


def month_name(day: object, lang: str) -> str:
    """A month as people of `lang` write it ("Dec 2026", "gru 2026", "joulu 2026"): Babel's CLDR data."""
    from datetime import date

    import pandas as pd
    from babel.dates import format_skeleton

    when = pd.Timestamp(day).date() if not isinstance(day, date) else day
    return str(format_skeleton("yMMM", when, locale=lang))


def month_chart(
    months: list[object], counts: list[float], lang: str, *, y_label: str, height: int = 170
) -> None:
    """Bars per month with the month names and the axis titles in the session's language, in time order."""
    import altair as alt
    import pandas as pd

    names = [month_name(m, lang) for m in months]
    frame = pd.DataFrame({"month": names, "count": counts})
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("month:N", sort=names, title=_("Month"), axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("count:Q", title=y_label),
            tooltip=[alt.Tooltip("month:N", title=_("Month")), alt.Tooltip("count:Q", title=y_label)],
        )
        .properties(height=height)
    )
    st.altair_chart(chart, width="stretch")


def style(css: str) -> None:
    """Inject one of the constant stylesheets above (no user data ever reaches this markup)."""
    st.html(css)
