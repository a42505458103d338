"""The main group's context object: the settings and the store connection every `koban-geo` command uses,
and the site it works in (the global --site, $KOBAN_SITE, or the store's only site)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from koban_geo.cli.common import fail

if TYPE_CHECKING:  # imported where used: `--help` and light commands never load the settings
    import duckdb

    from koban_geo.store.settings import Settings


class Context:
    def __init__(self, db: Path | None, site: str | None = None) -> None:
        self._db = db
        self._site = site
        self._settings: Settings | None = None
        self.site: str | None = None  # the site chosen by connect()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from koban_geo.store.settings import get_settings

            try:
                self._settings = get_settings(db=self._db, site=self._site)
            except ValueError as exc:  # SettingsError: names the setting
                raise click.ClickException(f"invalid setting: {exc}") from exc
        return self._settings

    def connect(
        self, read_only: bool = False, spatial: bool = True, *, needs_site: bool = True
    ) -> duckdb.DuckDBPyConnection:
        """Open the store and choose the site the command works in (--site, $KOBAN_SITE, or the only one):
        queries then run in that site and `settings` become the site's (store.sites.site_settings). A
        store-wide command (init, users, sites) passes needs_site=False; with one site it still gets it."""
        from koban_geo.store.db import StoreError, connect
        from koban_geo.store.sites import SiteError, choose_site, site_settings

        try:
            con = connect(self.settings.db, read_only=read_only, spatial=spatial)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            self.site = choose_site(con, self.settings.site)
        except SiteError as exc:
            if needs_site or self.settings.site:  # an unknown --site is an error for every command
                con.close()
                fail(str(exc))
            return con
        self._settings = site_settings(con, self.settings, self.site)
        return con
