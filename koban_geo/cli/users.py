"""`koban-geo users`: local accounts from the command line (create the first admin, disable a leaver).

Registered on the main group in koban_geo/cli.py with `cli.add_command(users)`; ctx.obj is the CLI's store
context (`.connect()`, `.settings`). Passwords come from a hidden prompt or one line of stdin, never from an
argument (arguments end up in shell history and process lists).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from koban_geo.cli.common import StoreContext, fail, os_user

ROLES = (
    "officer",
    "analyst",
    "council",
    "admin",
)  # koban_geo.community.accounts.Role (a test keeps them equal)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


_actor = click.option(
    "--actor",
    default=os_user,
    show_default="your OS user name",
    help="Who does this (recorded in the audit log).",
)
_stdin = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (scripts).",
)


@click.group("users")
def users() -> None:
    """Local accounts: officers, analysts, council users and admins.

    Roles see the audience tiers officer, analyst, council; admin sees officer and manages accounts.
    """


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may see.")
@_stdin
@click.option(
    "--email",
    default=None,
    metavar="ADDRESS",
    help="The identity-provider (single sign-on) address that signs in as this account.",
)
@click.option(
    "--no-password",
    is_flag=True,
    help="No local password: the user signs in only through the identity provider (OIDC).",
)
@click.option(
    "--site",
    "site_specs",
    multiple=True,
    metavar="CODE[:ROLE]",
    help="A site the user works in, with its role there (default --role); repeatable. "
    "Default: the store's only site (or the global --site).",
)
@_actor
@click.pass_obj
def users_add(
    obj: StoreContext,
    username: str,
    role: str,
    email: str | None,
    password_stdin: bool,
    no_password: bool,
    site_specs: tuple[str, ...],
    actor: str,
) -> None:
    """Create account USERNAME (2-64 of a-z 0-9 . _ -); asks for the password twice (or --password-stdin)."""
    from koban_geo.community.accounts import (
        AccountError,
        add_user,
        check_email,
        check_password,
        check_username,
    )

    if no_password and password_stdin:
        fail("use --no-password or --password-stdin, not both")
    try:
        check_username(username)
        if email is not None:
            check_email(email)
        password = None if no_password else _password(password_stdin)
        if password is not None:
            check_password(password, username)  # before opening the store: a typo costs nothing
    except AccountError as exc:
        fail(str(exc))
    from koban_geo.community.account_sites import parse_site_role, sites_of
    from koban_geo.store.sites import SiteError, list_sites

    con = obj.connect(needs_site=False)
    try:
        grants = [parse_site_role(spec, role) for spec in site_specs] or None
        account = add_user(con, username, password, role, actor, email=email, sites=grants)
        where = ", ".join(f"{site}:{r}" for site, r in sites_of(con, username)) or "no site yet"
        several = site_specs or len(list_sites(con)) > 1
    except (AccountError, SiteError) as exc:
        fail(str(exc))
    finally:
        con.close()
    sites = f"; sites {where}" if several else ""  # a one-site store says what it always said
    click.echo(f"added {account.username} ({account.role}, sees {account.audience}{sites})")


@users.command("grant")
@click.argument("username")
@click.argument("site")
@click.argument("role", type=click.Choice(ROLES))
@_actor
@click.pass_obj
def users_grant(obj: StoreContext, username: str, site: str, role: str, actor: str) -> None:
    """Let USERNAME work in SITE with ROLE (replaces its role there)."""
    from koban_geo.community.account_sites import grant_site
    from koban_geo.community.accounts import AccountError
    from koban_geo.store.sites import SiteError

    con = obj.connect(needs_site=False)
    try:
        grant_site(con, username, site, role, actor)
    except (AccountError, SiteError) as exc:
        fail(str(exc))
    finally:
        con.close()
    click.echo(f"{username} works in {site} as {role}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per account.")
@click.pass_obj
def users_list(obj: StoreContext, as_json: bool) -> None:
    """Accounts with their role, state and last login (times in UTC); never a password hash."""
    from koban_geo.community.account_sites import sites_of
    from koban_geo.community.accounts import list_users

    con = obj.connect(needs_site=False)
    try:
        accounts = list_users(con)
        where = {
            a.username: [{"site": s, "role": str(r)} for s, r in sites_of(con, a.username)] for a in accounts
        }
    finally:
        con.close()
    if as_json:
        for account in accounts:
            click.echo(json.dumps({**account.as_dict(), "sites": where[account.username]}, default=str))
        return
    if not accounts:
        click.echo("no accounts yet: create the first admin with `koban-geo users add NAME --role admin`")
        return
    click.echo(f"{'username':<24}{'role':<9}{'sees':<9}{'state':<10}{'last login (UTC)':<18}sso e-mail")
    for account in accounts:
        state = "disabled" if not account.active else "locked" if account.locked() else "active"
        last = f"{account.last_login_at:%Y-%m-%d %H:%M}" if account.last_login_at else "never"
        click.echo(
            f"{account.username:<24}{account.role:<9}{account.audience:<9}{state:<10}{last:<18}"
            f"{account.email or '-'}"
        )


@users.command("disable")
@click.argument("username")
@_actor
@click.pass_obj
def users_disable(obj: StoreContext, username: str, actor: str) -> None:
    """Refuse USERNAME's logins and end its sessions (nothing is deleted)."""
    from koban_geo.community.accounts import disable_user

    _change(obj, disable_user, username, actor)
    click.echo(f"disabled {username}")


@users.command("enable")
@click.argument("username")
@_actor
@click.pass_obj
def users_enable(obj: StoreContext, username: str, actor: str) -> None:
    """Allow USERNAME again; also lifts a lock-out after too many failed logins."""
    from koban_geo.community.accounts import enable_user

    _change(obj, enable_user, username, actor)
    click.echo(f"enabled {username}")


@users.command("passwd")
@click.argument("username")
@_stdin
@_actor
@click.pass_obj
def users_passwd(obj: StoreContext, username: str, password_stdin: bool, actor: str) -> None:
    """Set a new password for USERNAME; ends its sessions and lifts a lock-out."""
    from koban_geo.community.accounts import AccountError, check_password, set_password

    try:
        password = _password(password_stdin)
        check_password(password, username)
    except AccountError as exc:
        fail(str(exc))
    _change(obj, lambda con, name, who: set_password(con, name, password, who), username, actor)
    click.echo(f"password changed for {username}")


@users.command("email")
@click.argument("username")
@click.argument("address", required=False)
@_actor
@click.pass_obj
def users_email(obj: StoreContext, username: str, address: str | None, actor: str) -> None:
    """Set the single sign-on ADDRESS that signs in as USERNAME; without ADDRESS, clear it."""
    from koban_geo.community.accounts import set_email

    _change(obj, lambda con, name, who: set_email(con, name, address, who), username, actor)
    click.echo(f"{username}: single sign-on {'as ' + address.strip().lower() if address else 'cleared'}")


def _change(obj: StoreContext, action: Any, username: str, actor: str) -> None:
    from koban_geo.community.accounts import AccountError

    con = obj.connect(needs_site=False)
    try:
        action(con, username, actor)
    except AccountError as exc:
        fail(str(exc))
    finally:
        con.close()
