"""Meeting mode for the projector: public tier only (aggregates, no pins, no free text, no sensitive
themes), the precision note always on screen, what changed since the last meeting, the live tally and the
join code with its QR code."""

from __future__ import annotations

import streamlit as st

from koban_geo.privacy.audience import Audience
from ui import auth, store
from ui import map as maps
from ui.filters import theme_label
from ui.i18n import _, current_lang
from ui.layout import PROJECTOR_CSS, precision_note, style
from ui.meeting import group_summary, join_url, qr_png, tally_table
from ui.text import escape, plain, table

style(PROJECTOR_CSS)
TIER = auth.require(Audience.PUBLIC)  # this page renders the public tier only
lang = current_lang()

from koban_geo.analysis.grid import Filter  # noqa: E402
from koban_geo.community.meetings import changes_since_last_meeting, list_meetings, meeting_by_code  # noqa: E402
from koban_geo.community.voting import public_results  # noqa: E402

code = st.query_params.get("code", "")
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
        _("Meeting"), current, format_func=lambda m: f"{m.title} ({m.date:%d.%m.%Y})", key="screen-meeting"
    )
    if st.button(_("Show"), key="screen-show", type="primary"):
        st.query_params["code"] = picked.code
        st.rerun()
    st.stop()

head, join = st.columns([3, 1])
with head:
    st.title(plain(meeting.title))
    st.caption(f"{meeting.date:%d.%m.%Y}")
with join:
    url = join_url(meeting.code, lang)
    st.image(qr_png(url), width=180)
    st.html(f'<div class="koban-code" data-testid="join-code">{escape(meeting.code)}</div>')

settings = store.settings()
flt = Filter(areas=meeting.areas, unit=settings.count_unit)
left, right = st.columns([3, 2], gap="large")
with left:
    built = maps.cached_public_map(store.data_version(), flt, lang)
    precision_note(built.note)
    maps.render(built.map, key="screen-map", height=520)
with right:
    st.subheader(_("Changed since the last meeting"))
    changes = changes_since_last_meeting(store.reader(), settings, list(meeting.areas), lang)
    if changes.previous is None:
        st.write(_("This is the first meeting for these areas."))
    else:
        rows = [
            {
                _("Theme"): theme_label(r.theme, lang),
                _("Now"): "–" if r.now is None else r.now,
                _("Before"): "–" if r.before is None else r.before,
                _("Change"): "–" if r.change is None else f"{r.change:+d}",
            }
            for r in changes.rows
        ]
        table(rows)


meeting_id = meeting.id  # the fragment below reruns alone: it keeps the id, not the page's state


@st.fragment(run_every=3)
def tally() -> None:
    """The live vote tally, refreshed every 3 seconds without rerunning the page."""
    k = settings.k_min
    # the tally as last published: it moves only once k phones have a new or changed ballot (it may write)
    shown = public_results(store.connection(), meeting_id, k)
    outcome = shown.results
    st.subheader(_("Votes so far: {n}").format(n=shown.ballots))
    if outcome.ranking:
        table(tally_table(outcome, lang, k=k).set_index("#"))
    if any(0 < g.participants < k for g in outcome.groups.values()):
        st.caption(
            _("A group with fewer than {k} phones is not shown yet, so nobody's vote can be told.").format(
                k=k
            )
        )
    if shown.live:
        st.caption(
            _(
                "The tally moves once {k} phones have voted or changed their vote, so nobody's vote can be told."
            ).format(k=k)
        )
    st.caption(group_summary(outcome))


tally()
