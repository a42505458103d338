"""Data is text, never markup: the one way pages show a string that came from data.

Area names, theme labels from a source, meeting titles and items, problem titles, actions, report texts and
account names may hold Markdown or HTML written by anyone. Streamlit renders Markdown in titles, captions,
`st.write`, alerts, widget labels and `st.table` cells; there such a string goes through `plain()`, which
escapes every character Markdown gives a meaning to (links, images, emphasis, headings, lists, HTML tags,
`:emoji:` and `$math$`) and breaks bare links with an invisible word joiner, so it shows literally. `st.text`, `st.code`, `st.dataframe` and the options of
select boxes and multiselects show text as it is: there the raw string is right (escaping would show the
backslashes). `table()` is `st.table` with every text cell made plain.
"""

from __future__ import annotations

import html
import re
from typing import Any

import streamlit as st

__all__ = ["escape", "plain", "table"]

# GitHub's bare-link detection (www.x, http://x, a@b.c) turns text into links even with every symbol escaped:
# an invisible WORD JOINER (U+2060) after the scheme or "www", and before "@", keeps those words text.
_BARE_LINK = re.compile(r"(?i)\b(https?|ftps?|mailto|xmpp|www)(?=[:.])")
JOINER = "\u2060"
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~$:=&@/"})


def plain(text: object) -> str:
    """`text` made inert for Streamlit's Markdown: shown literally, with no link, image, emphasis or tag.

    >>> print(plain("**bold** [x](y)"))
    \\*\\*bold\\*\\* \\[x\\]\\(y\\)
    """
    value = _BARE_LINK.sub(r"\g<1>" + JOINER, "" if text is None else str(text)).replace("@", JOINER + "@")
    # Line breaks stay line breaks (two spaces before them, as Markdown wants); every symbol is escaped.
    return "  \n".join(line.translate(_MARKDOWN) for line in value.splitlines()) or value.translate(_MARKDOWN)


def escape(text: object) -> str:
    """HTML-escape a value for the few places that build markup themselves (never user data unescaped)."""
    return html.escape("" if text is None else str(text), quote=True)


def _cell(value: Any) -> Any:
    return plain(value) if isinstance(value, str) else value


def table(data: Any, **kwargs: Any) -> None:
    """`st.table` of rows (a list of dicts or a DataFrame) whose text cells and labels are shown literally."""
    import pandas as pd

    frame = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))
    frame.columns = [_cell(c) for c in frame.columns]
    for column in frame.columns:
        values = list(frame[column])
        if any(isinstance(v, str) for v in values):  # text, or text mixed with numbers ("–" for hidden)
            frame[column] = [plain(v) for v in values]
    name = frame.index.name
    frame.index = pd.Index([_cell(i) for i in frame.index], name=_cell(name) if name is not None else None)
    st.table(frame, **kwargs)
