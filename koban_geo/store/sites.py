"""Site profiles: one store serves several sites (the KOBAN pilots), each with its own areas, languages and
overrides of the global settings (k, grid, retention, public URL, basemap, tiles).

A site travels as an explicit code: `choose_site` picks it (the one asked for, or the only one) and binds it
to the connection (store.scope), so every query of that connection binds it as `$site`; `site_settings`
gives the settings the site's outputs use. A store made before sites has the one site `default`, whose
overrides are all unset: it behaves as before.

>>> from koban_geo.store.db import connect
>>> con = connect(":memory:")
>>> [s.code for s in list_sites(con)]
['default']
>>> _ = add_site(con, "gent", "Gent", k_min=10, actor="doctest")
>>> site_settings(con, Settings(), "gent").k_min
10
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from koban_geo.store.scope import SiteError, bind_site
from koban_geo.store.settings import Settings
from koban_geo.store.sql import query, writing

__all__ = [
    "DEFAULT_SITE",
    "OVERRIDES",
    "Site",
    "SiteError",
    "add_site",
    "check_code",
    "choose_site",
    "get_site",
    "list_sites",
    "site_settings",
]

DEFAULT_SITE = "default"
_CODE = re.compile(r"[a-z0-9-]{2,32}")
# the per-site columns that override the Settings field of the same name when set
OVERRIDES = ("k_min", "grid_m", "retention_months", "public_url", "basemap", "tiles_url")


@dataclass(frozen=True)
class Site:
    """One site of the store; an override left None means the global setting."""

    code: str
    name: str
    default_lang: str | None = None
    languages: tuple[str, ...] = ()
    k_min: int | None = None
    grid_m: int | None = None
    retention_months: int | None = None
    public_url: str | None = None
    basemap: str | None = None
    tiles_url: str | None = None
    created_at: datetime | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["languages"] = list(self.languages)
        return out


def _site(row: tuple[Any, ...]) -> Site:
    code, name, lang, langs, k_min, grid_m, months, url, basemap, tiles, created = row
    return Site(code, name, lang, tuple(langs or ()), k_min, grid_m, months, url, basemap, tiles, created)


def list_sites(con: duckdb.DuckDBPyConnection) -> list[Site]:
    """Every site of the store, by code."""
    return [_site(row) for row in query(con, "site_list").fetchall()]


def get_site(con: duckdb.DuckDBPyConnection, code: str) -> Site:
    """The site `code`; a SiteError naming the store's sites when there is none."""
    sites = list_sites(con)
    for site in sites:
        if site.code == code:
            return site
    known = ", ".join(s.code for s in sites) or "none"
    raise SiteError(f"no site {code!r} in this store; its sites: {known}")


def check_code(code: str) -> str:
    """A site code as stored: lower case letters, digits and '-', 2 to 32 of them."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise SiteError(f"site code {code!r}: use 2-32 lower-case letters, digits or '-' (e.g. 'gent')")
    return code


def _overrides(values: dict[str, Any]) -> dict[str, Any]:
    """The overrides checked by Settings' own validation (the same limits as the global settings)."""
    given = {k: v for k, v in values.items() if v is not None}
    if given:
        try:
            Settings(**given)
        except ValueError as exc:
            raise SiteError(f"invalid site setting: {exc}") from exc
    return values


def add_site(
    con: duckdb.DuckDBPyConnection,
    code: str,
    name: str,
    *,
    default_lang: str | None = None,
    languages: list[str] | tuple[str, ...] | None = None,
    k_min: int | None = None,
    grid_m: int | None = None,
    retention_months: int | None = None,
    public_url: str | None = None,
    basemap: str | None = None,
    tiles_url: str | None = None,
    actor: str,
) -> Site:
    """Add a site (audited store-wide); a SiteError for a bad or taken code or an invalid override."""
    check_code(code)
    if not name or not name.strip():
        raise SiteError("a site needs a name (--name)")
    langs = [lang.strip() for lang in (languages or []) if lang.strip()]
    if default_lang and langs and default_lang not in langs:
        langs.insert(0, default_lang)
    values = _overrides({"k_min": k_min, "grid_m": grid_m, "retention_months": retention_months,
                         "public_url": public_url, "basemap": basemap, "tiles_url": tiles_url})  # fmt: skip
    with writing(con) as cur:
        if any(s.code == code for s in list_sites(cur)):
            raise SiteError(f"site {code!r} already exists")
        query(cur, "site_insert", {"code": code, "name": name.strip(), "default_lang": default_lang,
                                   "languages": langs or None, **values})  # fmt: skip
        cur.execute(
            "INSERT INTO audit_log (logged_at, actor, action, detail, site) VALUES (now(), ?, 'site.add', ?, ?)",
            [actor, code, code],
        )
    return get_site(con, code)


def site_settings(con: duckdb.DuckDBPyConnection, settings: Settings, code: str) -> Settings:
    """The settings site `code` works with: the global ones with the site's overrides applied."""
    site = get_site(con, code)
    update: dict[str, Any] = {
        name: getattr(site, name) for name in OVERRIDES if getattr(site, name) is not None
    }
    if "basemap" in update:
        update["basemap"] = Path(update["basemap"])
    if not update:
        return settings
    return settings.replace(**update)


def choose_site(con: duckdb.DuckDBPyConnection, requested: str | None) -> str:
    """Bind the site a command works in to `con` and return its code: `requested` (--site or KOBAN_SITE),
    else the store's only site; a SiteError naming the sites when several exist and none was asked for."""
    if requested:
        code = get_site(con, requested).code
    else:
        sites = list_sites(con)
        if len(sites) != 1:
            known = ", ".join(s.code for s in sites)
            raise SiteError(
                f"this store holds several sites ({known}): choose one with --site CODE or KOBAN_SITE"
            )
        code = sites[0].code
    bind_site(con, code)
    return code
