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

# The map's frame (streamlit-folium) and the officers' details panel over it.
_MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
MAP_FIRST_CSS = f"""
<style>
/* Officers' map first (issue 14): the map fills the window below one line of heading; nothing scrolls. */
.block-container {{ padding: 3.6rem 1rem 0 !important; max-width: 100% !important; }}
.st-key-map-head {{ gap: 1rem; flex-wrap: nowrap !important; }}
.st-key-map-head > div:first-child {{ flex: 0 0 auto; width: auto !important; }}
.st-key-map-head h4 {{ padding: 0 !important; white-space: nowrap; }}
.st-key-map-head [data-testid="stCaptionContainer"] p {{ margin: 0; line-height: 1.3; }}
{_MAP_FRAME} {{ height: max(420px, calc(100vh - 7.4rem)) !important; }}
[data-testid="stMainBlockContainer"] {{ position: relative; }}
.st-key-map-details, .st-key-map-hint {{
  position: absolute; top: 6.6rem; left: 4.4rem; z-index: 990;
  background: #ffffff; border-radius: 8px; box-shadow: 0 2px 14px rgba(0, 0, 0, 0.35);
}}
.st-key-map-details {{ width: min(380px, 40vw); max-height: calc(100vh - 8.5rem); overflow-y: auto;
                       padding: 0.5rem 1rem 1rem; }}
.st-key-map-hint {{ width: auto !important; padding: 0.3rem 0.8rem; }}
.st-key-map-hint p {{ margin: 0; color: #1f1f1f; line-height: 1.6; }}
.st-key-map-hint [data-testid="stCaptionContainer"] {{ padding: 0.1rem 0; }}
</style>
"""

PROJECTOR_SCREEN_CSS = f"""
<style>
/* The meeting on a projector (1920x1080, 1280x720): everything on one screen, nothing scrolls, no sidebar
   (staff leave through the small link at the top right). Type grows with the width: the tally is 1.5vw
   (29 px at 1920), the legend at least 18 px (map.css, .koban-projector). Text is #111 or #1f1f1f on white
   (about 17:1), the bars #1f4e79 on #e6e6e6 (7:1): WCAG 2.1 AA. */
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"] {{ display: none !important; }}
html, body, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{ overflow: hidden; }}
.block-container {{ padding: 0.6rem 1.2rem 0 !important; max-width: 100% !important; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ gap: 0.4rem; }}
.st-key-screen-head {{ gap: 1.2rem; }}
.st-key-screen-head h1 {{ font-size: max(26px, 2.2vw) !important; padding: 0 !important; line-height: 1.2; }}
.st-key-screen-head [data-testid="stPageLink"] {{ margin-left: auto; }}
.st-key-screen-head [data-testid="stPageLink"] p {{ font-size: 14px !important; }}
.koban-date {{ font-size: max(18px, 1.3vw); color: #1f1f1f; padding-bottom: 0.3rem; }}
{_MAP_FRAME} {{ height: calc(100vh - max(26px, 2.2vw) * 1.2 - max(16px, 1vw) * 4.6 - 2.6rem) !important; }}
.koban-changes {{ font-size: max(16px, 1vw); line-height: 1.3; color: #1f1f1f; }}
[data-testid="stMain"] [data-testid="stAlert"] > div {{ padding: 0.2rem 0.6rem; min-height: 0; }}
[data-testid="stMain"] [data-testid="stAlert"] p {{ font-size: max(16px, 1vw) !important; line-height: 1.3; color: #1f1f1f; }}
.koban-changes {{ white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.koban-joinbox {{ display: flex; align-items: center; gap: 1.2rem; }}
.koban-join {{ min-width: 0; flex: 1 1 auto; }}
.koban-qr {{ display: block; flex: 0 0 auto; width: min(200px, 24vh); height: auto; image-rendering: pixelated; }}
.koban-join-label {{ font-size: max(18px, 1.2vw); color: #1f1f1f; }}
.koban-code {{ font-size: max(36px, 3.4vw); font-weight: 800; letter-spacing: 0.3rem; color: #111111;
               line-height: 1.1; }}
.koban-url {{ font: 600 max(18px, 1.25vw)/1.3 ui-monospace, "DejaVu Sans Mono", monospace; color: #111111;
              word-break: break-all; }}
.koban-votes {{ font-size: max(22px, 1.7vw); font-weight: 700; color: #111111; }}
.koban-bars {{ display: flex; flex-direction: column; gap: min(1.1vh, 0.8rem); }}
.koban-bar-label {{ display: flex; justify-content: space-between; gap: 1rem; font-size: max(18px, 1.5vw);
                    line-height: 1.2; color: #111111; }}
.koban-bar-label span:first-child {{ overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}
.koban-bar-value {{ font-weight: 700; }}
.koban-bar-track {{ height: max(12px, 1.6vh); background: #e6e6e6; border-radius: 4px; }}
.koban-bar-fill {{ height: 100%; background: #1f4e79; border-radius: 4px; }}
.koban-tally-note {{ font-size: max(14px, 0.9vw); color: #1f1f1f; }}
@media (max-height: 800px) {{ .koban-bar:nth-child(n+5) {{ display: none; }} }}
</style>
"""

BASE_CSS = """
<style>
/* Every page: captions dark enough for WCAG 2.1 AA (Streamlit's light theme greys them to 3.9:1). */
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { color: #555555 !important; opacity: 1 !important; }
</style>
"""


def month_name(day: object, lang: str) -> str:
    """A month as people of `lang` write it ("Dec 2026", "gru 2026", "joulu 2026"): Babel's CLDR data."""
    from datetime import date

    import pandas as pd

    from koban_geo.store.i18n import format_month

    when = pd.Timestamp(day).date() if not isinstance(day, date) else day
    return format_month(when, lang)


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
