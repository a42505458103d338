"""The phones' vote page as plain HTML: one form, no script, readable from 360 px wide, a few KB.

Rendering only (web/phone.py handles the request, the cookie and the ballot). Every string that comes from
data (the meeting's title, the items' labels, what the phone typed) goes through `html.escape`; the fixed
words come from the dashboard's gettext catalogues (`_("...")`, extracted by tools/i18n.py like every page).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from ui.i18n import LANG_NAMES, LANGS, translate

__all__ = ["PhoneView", "render", "vote_error"]

_STYLE = """
*{box-sizing:border-box}
body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;padding:12px;max-width:560px;color:#1b1b1b;
background:#fff;overflow-wrap:anywhere}
h1{font-size:1.35em;margin:.2em 0}
.meta,.langs,.hint{color:#555;font-size:.9em}
.langs a{margin-right:.5em}
.box{padding:.6em .8em;border-radius:6px;margin:.8em 0}
.ok{background:#e6f4ea;border:1px solid #2e7d32}
.err{background:#fdecea;border:1px solid #c62828}
.info{background:#e8f0fe;border:1px solid #1a56b0}
.item{display:flex;align-items:center;justify-content:space-between;gap:.6em;padding:.5em 0;
border-bottom:1px solid #ddd}
.item label{flex:1}
input[type=number],select{font-size:1.1em;width:4.5em;padding:.3em}
input[type=text]{font-size:1.1em;width:100%;padding:.4em;text-transform:uppercase}
button{font-size:1.1em;padding:.6em 1.2em;margin-top:1em;width:100%;border:0;border-radius:6px;
background:#1a56b0;color:#fff}
details{margin:.8em 0}
"""


@dataclass(frozen=True)
class Item:
    label: str
    value: int | None  # dots placed, or the rank given (None: unranked / nothing yet)


@dataclass(frozen=True)
class PhoneView:
    """Everything the page shows; `form` is None when there is no open meeting to vote in."""

    lang: str
    code: str = ""  # the meeting code as asked for (escaped when shown)
    title: str = ""
    date: str = ""
    state: str = "join"  # join | unknown | draft | closed | open
    method: str = "dots"
    budget: int = 0
    cap: int = 0
    items: Sequence[Item] = field(default_factory=tuple)
    csrf: str = ""
    role: str = "resident"  # the group the phone's ballot counts in
    voted: bool = False
    revision: int = 0
    sent: bool = False
    needs_slip: bool = False
    error: str = ""
    group_typed: str = ""


def _gettext(lang: str) -> Callable[[str], str]:
    """Plain text in `lang` (for messages escaped later)."""
    return lambda msgid: translate(msgid, lang)


def _html(lang: str) -> Callable[[str], str]:
    """HTML-escaped text in `lang`: the `_` of the render functions below (never called inside an f-string:
    Babel's extractor on Python 3.11 does not look into them)."""
    return lambda msgid: escape(translate(msgid, lang))


def vote_error(reason: str, params: Mapping[str, Any], lang: str) -> str:
    """A VoteError's reason (or the page's own) in the phone's language."""
    _ = _gettext(lang)
    messages = {
        "closed": _("Voting has closed for this meeting."),
        "device": _("This phone could not be recognised; reload the page and try again."),
        "duplicate": _("Each item can be ranked only once."),
        "empty": _("Place at least one dot."),
        "empty_ranking": _("Rank at least one item."),
        "form": _("This ballot does not fit this meeting's voting rules."),
        "no_meeting": _("No meeting has this code; check the code on the screen."),
        "not_open": _("Voting has not started yet; try again when the facilitator opens it."),
        "not_whole": _("Dots are whole numbers, 0 or more."),
        "unknown_item": _("Your ballot names an item that is not on this meeting's list."),
        "cap": _("At most {cap} dots can go on one item.").format(cap=params.get("cap", "")),
        "budget": _("You have {budget} dots; this ballot uses {used}.").format(
            budget=params.get("budget", ""), used=params.get("used", "")
        ),
        "slip_needed": _("This meeting votes with ballot slips: enter the code on your slip."),
        "slip_invalid": _("This slip code is not valid or has already been used."),
        "group": _("This group code is not valid for this meeting."),
        "expired": _("This page had expired. Please check your choices and send your vote again."),
        "failed": _("Your vote was not saved. Please try again."),
    }
    return messages.get(reason, messages["form"])


def _url(code: str, lang: str, **extra: str) -> str:
    params = {"meeting": code, "lang": lang, **extra} if code else {"lang": lang, **extra}
    return "/vote?" + urlencode(params)


def _languages(view: PhoneView) -> str:
    links = [
        f'<a href="{escape(_url(view.code, lang))}" lang="{lang}"'
        + (' aria-current="true"' if lang == view.lang else "")
        + f">{escape(LANG_NAMES[lang])}</a>"
        for lang in LANGS
    ]
    return '<nav class="langs">' + "".join(links) + "</nav>"


def _join_form(view: PhoneView) -> str:
    _ = _html(view.lang)
    return (
        f'<form method="get" action="/vote"><input type="hidden" name="lang" value="{escape(view.lang)}">'
        + '<label for="meeting">'
        + _("Meeting code")
        + '</label><input type="text" id="meeting" name="meeting" maxlength="12" autocomplete="off" required>'
        + "<button>"
        + _("Join")
        + "</button></form>"
    )


def _ballot_form(view: PhoneView) -> str:
    _ = _html(view.lang)
    parts = [
        f'<form method="post" action="{escape(_url(view.code, view.lang))}">',
        f'<input type="hidden" name="csrf" value="{escape(view.csrf)}">',
    ]
    if view.method == "dots":
        rule = _("You have {budget} dots. Put at most {cap} on one item.")
        parts.append("<p>" + rule.format(budget=view.budget, cap=view.cap) + "</p>")
        for i, item in enumerate(view.items):
            parts.append(
                f'<div class="item"><label for="d{i}">{escape(item.label)}</label>'
                f'<input type="number" id="d{i}" name="d{i}" min="0" max="{view.cap}" step="1" inputmode="numeric" '
                f'value="{item.value or 0}"></div>'
            )
    else:
        parts.append(
            "<p>" + _("Pick the items in your order of priority: first the most important.") + "</p>"
        )
        n = len(view.items)
        unranked = _("not ranked")
        for i, item in enumerate(view.items):
            options = [f'<option value="">{unranked}</option>'] + [
                f'<option value="{r}"' + (" selected" if item.value == r else "") + f">{r}</option>"
                for r in range(1, n + 1)
            ]
            parts.append(
                f'<div class="item"><label for="r{i}">{escape(item.label)}</label>'
                f'<select id="r{i}" name="r{i}">{"".join(options)}</select></div>'
            )
    if view.needs_slip:
        slip = _("Ballot slip code")
        parts.append(
            f'<p><label for="slip">{slip}</label>'
            '<input type="text" id="slip" name="slip" maxlength="12" autocomplete="off" required></p>'
        )
    group, hint, send = (
        _("Group code"),
        _("Only if the staff gave you a code for officers or partners."),
        _("Send my vote"),
    )
    parts.append(
        f"<details{' open' if view.group_typed else ''}><summary>{group}</summary>"
        f'<p class="hint">{hint}</p>'
        '<input type="text" id="group" name="group" maxlength="12" autocomplete="off" '
        f'aria-label="{group}" value="{escape(view.group_typed)}"></details>'
    )
    parts.append(f"<button>{send}</button></form>")
    return "".join(parts)


def _group_word(role: str, lang: str) -> str:
    _ = _gettext(lang)
    return {"resident": _("Residents"), "officer": _("Officers"), "partner": _("Partners")}.get(role, role)


def render(view: PhoneView) -> str:
    """The whole page."""
    _ = _html(view.lang)
    body: list[str] = [_languages(view)]
    vote = _("Vote")
    if view.state in ("join", "unknown"):
        body.append(f"<h1>{vote}</h1>")
        if view.state == "unknown":
            body.append(
                f'<p class="box err" role="alert">{escape(vote_error("no_meeting", {}, view.lang))}</p>'
            )
        body.append(_join_form(view))
    else:
        body.append(f"<h1>{escape(view.title)}</h1>")
        body.append(f'<p class="meta">{escape(view.date)} · {escape(view.code)}</p>')
        if view.error:
            body.append(f'<p class="box err" role="alert">{escape(view.error)}</p>')
        if view.state == "open":
            if view.sent and view.voted:
                done = (
                    _("Your vote is counted. You changed it {n} times.").format(n=view.revision - 1)
                    if view.revision > 1
                    else _("Your vote is counted.")
                )
                body.append(f'<p class="box ok" role="status">{done}</p>')
            elif view.voted and not view.error:
                again = _("You have voted. Sending again replaces your vote.")
                body.append(f'<p class="hint">{again}</p>')
            if view.role != "resident":
                as_group = _("You vote as: {group}").format(group=escape(_group_word(view.role, view.lang)))
                body.append(f'<p class="hint">{as_group}</p>')
            body.append(_ballot_form(view))
        else:
            wait = (
                _("Voting has not started yet; try again when the facilitator opens it.")
                if view.state == "draft"
                else _("Voting has closed for this meeting.")
            )
            body.append(f'<p class="box info">{wait}</p>')
            refresh = _("Refresh")
            body.append(f'<p><a href="{escape(_url(view.code, view.lang))}">{refresh}</a></p>')
    title = escape(view.title) if view.state not in ("join", "unknown") else vote
    return (
        f'<!doctype html><html lang="{escape(view.lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title} · KOBAN</title><style>{_STYLE}</style></head><body>"
        + "".join(body)
        + "</body></html>"
    )
