"""A printable sheet of ballot slips (koban_geo.community.admission.issue_slips): one box per slip, cut along
the lines and hand one to each person in the room.

Self-contained HTML that prints on A4 (no script, no network; every data string escaped). The slips exist
only on this sheet and in the command's output: the store keeps their hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from koban_geo.community.meetings import Meeting
from koban_geo.store.i18n import format_date, pgettext

__all__ = ["slip_sheet"]


_STYLE = """
body { font-family: sans-serif; margin: 1cm; }
h1 { font-size: 14pt; }
.slips { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0; }
.slip { border: 1px dashed #555; padding: 0.4cm; break-inside: avoid; font-size: 9pt; }
.code { font: bold 18pt monospace; letter-spacing: 2px; margin: 0.2cm 0; }
"""


def slip_sheet(meeting: Meeting, slips: Sequence[str], public_url: str, lang: str = "en") -> str:
    """The HTML sheet for `slips` of `meeting`; `public_url` is where phones open /vote (may be empty)."""
    title = escape(pgettext("ballot slip", "Ballot slips", lang))
    slip_word = escape(pgettext("ballot slip", "Your ballot slip", lang))
    open_word, code_word = (
        escape(pgettext("ballot slip", "Open", lang)),
        escape(pgettext("ballot slip", "Meeting code", lang)),
    )
    enter = escape(pgettext("ballot slip", "and enter this code with your vote. One slip, one vote.", lang))
    when = escape(format_date(meeting.date, lang))
    address = f"{public_url.rstrip('/')}/vote?meeting={meeting.code}" if public_url else "/vote"
    boxes = "\n".join(
        f'<div class="slip"><div>{slip_word} · {escape(meeting.title)} · {when}</div>'
        f'<div class="code">{escape(slip)}</div>'
        f"<div>{open_word} {escape(address)} ({code_word} {escape(meeting.code)}) {enter}</div></div>"
        for slip in slips
    )
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{title} · {escape(meeting.title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{title} · {escape(meeting.title)} · {escape(meeting.code)}</h1>"
        f'<div class="slips">\n{boxes}\n</div></body></html>\n'
    )
