"""Which site a connection works in: the one place that gives the store's queries their `$site`.

A store holds one or more sites (koban_geo.store.sites). Every query that reads or writes a site's rows binds
`$site`; `store.sql.query` takes it from the caller's parameters when given, else from the site bound to the
connection here. `store.db.connect` binds the only site of a one-site store, so nothing changes there; in a
store with several sites a query run before a site is chosen fails with an error naming the sites, never
reads another site's rows. Cursors made with `store.sql.cursor`/`writing` inherit their connection's site.
"""

from __future__ import annotations

import weakref

import duckdb

__all__ = ["SiteError", "bind_site", "bound_site", "site_of", "unbind_site"]


class SiteError(ValueError):
    """No site chosen, or an unknown site code; the message names the store's sites."""


_BOUND: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str] = weakref.WeakKeyDictionary()


def bind_site(con: duckdb.DuckDBPyConnection, code: str) -> None:
    """Make `code` the site of every query run on `con` (and on cursors made from it afterwards)."""
    _BOUND[con] = code


def unbind_site(con: duckdb.DuckDBPyConnection) -> None:
    _BOUND.pop(con, None)


def bound_site(con: duckdb.DuckDBPyConnection) -> str | None:
    """The site bound to `con`, or None."""
    return _BOUND.get(con)


def site_of(con: duckdb.DuckDBPyConnection) -> str:
    """The site bound to `con`; a SiteError naming the store's sites when none is."""
    code = _BOUND.get(con)
    if code is not None:
        return code
    try:
        rows = con.execute("SELECT code FROM sites ORDER BY code").fetchall()
    except duckdb.Error as exc:
        raise SiteError("this store has no sites yet: run `koban-geo init` to bring it up to date") from exc
    if len(rows) == 1:  # a connection opened without store.db.connect (doctor, tools) in a one-site store
        return str(rows[0][0])
    known = ", ".join(r[0] for r in rows)
    raise SiteError(f"This store holds several sites ({known}): choose one with --site CODE or KOBAN_SITE.")
