"""Meeting mode for the projector: public tier only (aggregates, no pins, no free text, no sensitive
themes), the precision note always on screen, what changed since the last meeting, the live tally and the
join code with its QR code."""

from __future__ import annotations

import base64

import streamlit as st

from koban_geo.privacy.audience import Audience
from koban_geo.store.i18n import format_date
from ui import auth, store
from ui.filters import theme_label
from ui.i18n import _, current_lang
from ui.layout import PROJECTOR_CSS, PROJECTOR_SCREEN_CSS, precision_note, style
from ui.map.cache import cached_public_map
from ui.map.show import render
from ui.meeting import group_summary, join_url, qr_png, staff_link, tally_bars
from ui.text import escape, plain

style(PROJECTOR_CSS)
TIER = auth.require(Audience.PUBLIC)  # this page renders the public tier only
lang = current_lang()

from koban_geo.analysis.grid import Filter  # noqa: E402
from koban_geo.community.meetings import list_meetings, meeting_by_code  # noqa: E402
from koban_geo.community.proposals import changes_since_last_meeting  # noqa: E402
from koban_geo.community.voting import public_results  # noqa: E402

code = st.query_params.get("code", "")
if code and auth.current() is None:  # a visitor knows only the code: the screen shows that meeting's site
    meeting = meeting_by_code(store.reader(), code, any_site=True)
    if meeting is not None and meeting.site != store.site():
        store.visit_site(meeting.site)
else:
    meeting = meeting_by_code(store.reader(), code) if code else None
if meeting is None and auth.tier() == Audience.PUBLIC:
    st.title(_("Meeting screen"))  # visitors type the code; only staff see the list of meetings
    typed = st.text_input(_("Meeting code"), key="screen-code", max_chars=12)
    if st.button(_("Show"), key="screen-show-code", type="primary") and typed.strip():
        st.query_params["code"] = typed.strip().upper()
        st.rerun()
    st.stop()
if meeting is None:
    st.title(_("Meeting screen"))
    current = [m for m in list_meetings(store.reader()) if m.status != "closed"]
    if not current:
        st.info(_("No meeting is planned or open."))
        st.stop()
    picked = st.selectbox(
        _("Meeting"),
        current,
        format_func=lambda m: f"{m.title} ({format_date(m.date, lang)})",
        key="screen-meeting",
    )
    if st.button(_("Show"), key="screen-show", type="primary"):
        st.query_params["code"] = picked.code
        st.rerun()
    st.stop()

style(PROJECTOR_SCREEN_CSS)  # the meeting itself: made for 1920x1080 and 1280x720, no sidebar, no scrolling
settings = store.settings()
flt = Filter(areas=meeting.areas, unit=settings.count_unit)
built = cached_public_map(store.data_version(), flt, lang, projector=True)
with st.container(key="screen-head", horizontal=True, vertical_alignment="bottom"):
    st.title(plain(meeting.title))
    st.html(f'<div class="koban-date">{format_date(meeting.date, lang)}</div>')
    staff_link()
left, right = st.columns([3, 2], gap="medium")
with left:
    render(built.map, key="screen-map", height=520, layers=built.layers)
    precision_note(built.note)
    changes = changes_since_last_meeting(store.reader(), settings, list(meeting.areas), lang)
    if changes.previous is None:
        said = _("This is the first meeting for these areas.")
    else:
        shown = [r for r in changes.rows if r.change][:4]
        said = " · ".join(f"{theme_label(r.theme, lang)} {r.change:+d}" for r in shown) or _("No change.")
    st.html(
        f'<div class="koban-changes"><b>{escape(_("Changed since the last meeting"))}:</b> {escape(said)}</div>'
    )
with right:
    qr = base64.b64encode(qr_png(join_url(meeting.code, lang))).decode("ascii")
    st.html(
        f'<div class="koban-joinbox"><img class="koban-qr" alt="{escape(_("QR code of the join link"))}" '
        f'src="data:image/png;base64,{qr}"><div class="koban-join">'
        f'<div class="koban-join-label">{escape(_("Join on your phone"))}</div>'
        f'<div class="koban-code" data-testid="join-code">{escape(meeting.code)}</div>'
        f'<div class="koban-url" data-testid="join-url">{escape(join_url(meeting.code))}</div></div></div>'
    )
    tally_box = st.container(key="screen-tally")


meeting_id = meeting.id  # the fragment below reruns alone: it keeps the id, not the page's state


@st.fragment(run_every=3)
def tally() -> None:
    """The live vote tally, refreshed every 3 seconds without rerunning the page."""
    k = settings.k_min
    # the tally as last published: it moves only once k phones have a new or changed ballot (it may write)
    shown = public_results(store.connection(), meeting_id, k)
    outcome = shown.results
    votes = _("Votes so far: {n}").format(n=shown.ballots)
    st.html(f'<div class="koban-votes">{escape(votes)}</div>')
    if outcome.ranking:
        st.html(tally_bars(outcome, lang, k=k))
    notes = []
    if any(0 < g.participants < k for g in outcome.groups.values()):
        notes.append(
            _("A group with fewer than {k} phones is not shown yet, so nobody's vote can be told.").format(
                k=k
            )
        )
    if shown.live:
        notes.append(
            _(
                "The tally moves once {k} phones have voted or changed their vote, so nobody's vote can be told."
            ).format(k=k)
        )
    notes.append(group_summary(outcome))
    for note in notes:
        st.html(f'<div class="koban-tally-note">{escape(note)}</div>')


with tally_box:
    tally()
