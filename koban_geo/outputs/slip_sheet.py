"""A printable sheet of ballot slips (koban_geo.community.admission.issue_slips): one box per slip, cut along
the lines and hand one to each person in the room.

Self-contained HTML that prints on A4 (no script, no network; every data string escaped). The slips exist
only on this sheet and in the command's output: the store keeps their hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from koban_geo.community.meetings import Meeting

__all__ = ["slip_sheet"]

WORDS: dict[str, dict[str, str]] = {
    "en": {"title": "Ballot slips", "slip": "Your ballot slip", "open": "Open",
           "enter": "and enter this code with your vote. One slip, one vote.", "code": "Meeting code"},
    "nl": {"title": "Stembriefjes", "slip": "Uw stembriefje", "open": "Open",
           "enter": "en vul deze code in bij uw stem. Eén briefje, één stem.", "code": "Vergadercode"},
    "fr": {"title": "Bulletins", "slip": "Votre bulletin", "open": "Ouvrez",
           "enter": "et saisissez ce code avec votre vote. Un bulletin, un vote.", "code": "Code de la réunion"},
    "pl": {"title": "Karty do głosowania", "slip": "Twoja karta do głosowania", "open": "Otwórz",
           "enter": "i wpisz ten kod przy głosowaniu. Jedna karta, jeden głos.", "code": "Kod spotkania"},
    "fi": {"title": "Äänestyslipukkeet", "slip": "Äänestyslipukkeesi", "open": "Avaa",
           "enter": "ja anna tämä koodi äänesi kanssa. Yksi lipuke, yksi ääni.", "code": "Kokouksen koodi"},
    "es": {"title": "Papeletas", "slip": "Su papeleta", "open": "Abra",
           "enter": "e introduzca este código con su voto. Una papeleta, un voto.", "code": "Código de la reunión"},
    "pt": {"title": "Boletins de voto", "slip": "O seu boletim", "open": "Abra",
           "enter": "e introduza este código com o seu voto. Um boletim, um voto.", "code": "Código da reunião"},
}  # fmt: skip

_STYLE = """
body { font-family: sans-serif; margin: 1cm; }
h1 { font-size: 14pt; }
.slips { display: grid; grid-template-columns: repeat(3, 1fr); gap: 0; }
.slip { border: 1px dashed #555; padding: 0.4cm; break-inside: avoid; font-size: 9pt; }
.code { font: bold 18pt monospace; letter-spacing: 2px; margin: 0.2cm 0; }
"""


def slip_sheet(meeting: Meeting, slips: Sequence[str], public_url: str, lang: str = "en") -> str:
    """The HTML sheet for `slips` of `meeting`; `public_url` is where phones open /vote (may be empty)."""
    words = WORDS.get(lang, WORDS["en"])
    address = f"{public_url.rstrip('/')}/vote?meeting={meeting.code}" if public_url else "/vote"
    boxes = "\n".join(
        f'<div class="slip"><div>{escape(words["slip"])} · {escape(meeting.title)} · '
        f"{meeting.date:%d.%m.%Y}</div>"
        f'<div class="code">{escape(slip)}</div>'
        f"<div>{escape(words['open'])} {escape(address)} ({escape(words['code'])} {escape(meeting.code)}) "
        f"{escape(words['enter'])}</div></div>"
        for slip in slips
    )
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{escape(words['title'])} · {escape(meeting.title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(words['title'])} · {escape(meeting.title)} · {escape(meeting.code)}</h1>"
        f'<div class="slips">\n{boxes}\n</div></body></html>\n'
    )
