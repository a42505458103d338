"""Shared page furniture: the precision note, translated errors instead of tracebacks, the projector style."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from ui.i18n import _


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
        st.error(_("The store cannot be opened.") + " " + str(exc))
    except PrivacyError:
        st.error(_("This view is not available for this audience."))
    except ValueError as exc:
        st.error(_("This could not be shown: {reason}").format(reason=str(exc)))


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~$:"})


def plain(text: object) -> str:
    """A user-provided string made inert for Streamlit's Markdown (titles, captions): no links, no images."""
    return ("" if text is None else str(text)).translate(_MARKDOWN)


def escape(text: object) -> str:
    """HTML-escape a value for the few places that build markup (never user data unescaped)."""
    return html.escape("" if text is None else str(text), quote=True)


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
.block-container {{ padding-top: 3.6rem; padding-bottom: 0; }}
.st-key-map-head {{ gap: 1rem; }}
.st-key-map-head h4 {{ padding: 0; white-space: nowrap; }}
.st-key-map-head [data-testid="stCaptionContainer"] p {{ margin: 0; }}
{_MAP_FRAME} {{ height: max(420px, calc(100vh - 7.4rem)) !important; }}
[data-testid="stMainBlockContainer"] {{ position: relative; }}
.st-key-map-details {{
  position: absolute; top: 6.6rem; left: 4.4rem; z-index: 990;
  width: min(380px, 40vw); max-height: calc(100vh - 10rem); overflow-y: auto;
  background: #ffffff; border-radius: 8px; box-shadow: 0 2px 14px rgba(0, 0, 0, 0.35); padding: 0.5rem 1rem 1rem;
}}
</style>
"""

PHONE_CSS = """
<style>
/* Residents' phones: one column from 360 px, big touch targets. */
.block-container { padding: 4rem 0.75rem 3rem; max-width: 40rem; }  /* clear of the 60 px header */
[data-testid="stAppViewContainer"] h1 { font-size: 1.8rem; }  /* a long meeting title in 3 lines, not 6 */
[data-testid="stAppViewContainer"] p, [data-testid="stAppViewContainer"] label { font-size: 1.1rem; }
button[kind] { min-height: 3rem; width: 100%; }
</style>
"""


def style(css: str) -> None:
    """Inject one of the constant stylesheets above (no user data ever reaches this markup)."""
    st.html(css)
