"""Which sites an account works in, and its role in each (a store can serve several sites; store.sites).

An account sees only its sites: the dashboard offers these and nothing else, and a role is per site (an
officer in one pilot can be an analyst in another). `accounts.role` stays the account's default role: the
role a grant without one gives. Grants are store-wide rows (account_sites), audited without a site.
"""

from __future__ import annotations

import duckdb

from koban_geo.community.accounts import AccountError, Role, get_user, role_of
from koban_geo.store.sites import get_site
from koban_geo.store.sql import query, writing

__all__ = ["grant_site", "parse_site_role", "revoke_site", "sites_of"]


def sites_of(con: duckdb.DuckDBPyConnection, username: str) -> list[tuple[str, Role]]:
    """(site code, role there) for every site the account works in, by code."""
    return [
        (site, Role(role)) for site, role in query(con, "account_sites_of", {"username": username}).fetchall()
    ]


def parse_site_role(spec: str, default_role: Role | str) -> tuple[str, Role]:
    """'gent' or 'gent:analyst' (the CLI's --site CODE[:ROLE]) as (site, role)."""
    code, _, role = spec.partition(":")
    return code.strip(), role_of(role.strip() or default_role)


def grant_site(
    con: duckdb.DuckDBPyConnection, username: str, site: str, role: Role | str, actor: str
) -> None:
    """Let USERNAME work in SITE with ROLE (replacing a role it had there)."""
    checked = role_of(role)
    get_site(con, site)  # a SiteError naming the sites for an unknown one
    if get_user(con, username) is None:
        raise AccountError(f"no account named {username!r}")
    with writing(con) as cur:
        query(cur, "account_sites_grant", {"username": username, "grant_site": site, "role": str(checked)})
        cur.execute(
            "INSERT INTO audit_log (logged_at, actor, action, detail, site) VALUES (now(), ?, 'user.site', ?, ?)",
            [actor, f"{username} role={checked}", site],
        )


def revoke_site(con: duckdb.DuckDBPyConnection, username: str, site: str, actor: str) -> bool:
    """Take USERNAME out of SITE; False when it was not in it."""
    with writing(con) as cur:
        gone = query(cur, "account_sites_revoke", {"username": username, "grant_site": site}).fetchall()
        cur.execute(
            "INSERT INTO audit_log (logged_at, actor, action, detail, site) VALUES (now(), ?, 'user.unsite', ?, ?)",
            [actor, username, site],
        )
    return bool(gone)
