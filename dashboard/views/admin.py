"""Accounts, for admins: while the server owns the store the CLI cannot write it, so leavers are disabled here."""

from __future__ import annotations

import streamlit as st

from koban_geo.privacy.audience import Audience
from ui import auth, store
from ui.i18n import _
from ui.text import plain

auth.require(Audience.OFFICER)
me = auth.current()
if me is None or not me.is_admin:
    st.warning(_("Only administrators manage accounts."))
    st.stop()

from koban_geo.community.accounts import AccountError, Role, add_user, disable_user, enable_user, list_users  # noqa: E402

st.title(_("Accounts"))
accounts = list_users(store.reader())
st.dataframe(
    [
        {
            _("User name"): a.username,
            _("Role"): a.role,
            _("Active"): a.active,
            _("Last login"): a.last_login_at,
        }
        for a in accounts
    ],
    hide_index=True,
    width="stretch",
)
others = [a.username for a in accounts if a.username != me.username]
with st.form("account-state"):
    who = st.selectbox(_("Account"), others, key="admin-user")
    cols = st.columns(2)
    off = cols[0].form_submit_button(_("Disable"), key="admin-disable")
    on = cols[1].form_submit_button(_("Enable"), key="admin-enable")
if who and (off or on):
    (disable_user if off else enable_user)(store.connection(), who, actor=me.username)
    st.success(_("Saved."))
    st.rerun()
with st.form("account-add", clear_on_submit=True):
    st.subheader(_("New account"))
    name = st.text_input(_("User name"), key="admin-new-user")
    role = st.selectbox(_("Role"), [r.value for r in Role], key="admin-new-role")
    password = st.text_input(_("Password"), type="password", key="admin-new-password",
                             help=_("At least 12 characters."))  # fmt: skip
    if st.form_submit_button(_("Add"), key="admin-add"):
        try:
            add_user(store.connection(), name.strip().lower(), password, role, actor=me.username)
        except AccountError as exc:
            st.error(plain(exc))
        else:
            st.success(_("Saved."))

st.subheader(_("Backup"))
st.caption(_("A consistent copy of the store, made by the server itself while it keeps running."))
if st.button(_("Back up the store now"), key="admin-backup"):
    from datetime import UTC, datetime

    from koban_geo.ops.maintenance import backup

    folder = store.settings().db.resolve().parent / "backups" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with st.spinner(_("Preparing...")):
        manifest = backup(store.connection(), folder, actor=me.username)
    st.success(plain(_("Backup written to {path}").format(path=str(folder))))
    st.caption(_("{n} tables copied.").format(n=len(manifest.get("tables", {}))))
