"""`koban-geo sites`: the sites one store serves (the KOBAN pilots), each with its own areas, languages and
overrides of the global settings. Every other command works in one site: the global `--site CODE` (or
$KOBAN_SITE), or the store's only site. Registered on the main group in koban_geo/cli/main.py.
"""

from __future__ import annotations

import json

import click

from koban_geo.cli.common import StoreContext, echo_json, fail, os_user


@click.group("sites")
def sites_group() -> None:
    """Sites of this store: add one, list them. A store made before sites has the one site `default`."""


@sites_group.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The site's name as people know it (e.g. 'Gent Zuid').")
@click.option("--lang", "default_lang", default=None, metavar="LANG", help="Default language (e.g. nl).")
@click.option("--languages", default=None, metavar="LANG,LANG", help="Languages offered (e.g. nl,en).")
@click.option(
    "--k-min", type=int, default=None, help="Smallest count shown to public and council (default: global)."
)
@click.option(
    "--grid-m", type=int, default=None, help="Grid cell in metres concerns snap to (default: global)."
)
@click.option("--retention-months", type=int, default=None, help="Concerns older than this are purged.")
@click.option("--public-url", default=None, help="Address residents' phones open for this site's meetings.")
@click.option("--basemap", default=None, help="Offline basemap (PMTiles) of this site.")
@click.option("--tiles-url", default=None, help="Raster tile URL template for this site's maps.")
@click.option("--actor", default=os_user, show_default="your OS user name", help="Recorded in the audit log.")
@click.pass_obj
def sites_add(obj: StoreContext, code: str, name: str, default_lang: str | None, languages: str | None,
              k_min: int | None, grid_m: int | None, retention_months: int | None, public_url: str | None,
              basemap: str | None, tiles_url: str | None, actor: str) -> None:  # fmt: skip
    """Add site CODE (2-32 of a-z 0-9 -); unset options follow the global settings."""
    from koban_geo.store.sites import SiteError, add_site

    con = obj.connect(needs_site=False)
    try:
        site = add_site(con, code, name, default_lang=default_lang,
                        languages=languages.split(",") if languages else None, k_min=k_min, grid_m=grid_m,
                        retention_months=retention_months, public_url=public_url, basemap=basemap,
                        tiles_url=tiles_url, actor=actor)  # fmt: skip
    except SiteError as exc:
        fail(str(exc))
    finally:
        con.close()
    click.echo(f"added site {site.code} ({site.name})")


@sites_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of the sites and their overrides.")
@click.pass_obj
def sites_list(obj: StoreContext, as_json: bool) -> None:
    """The store's sites with their languages and the settings they override."""
    from koban_geo.store.sites import OVERRIDES, list_sites

    con = obj.connect(read_only=True, needs_site=False)
    try:
        sites = list_sites(con)
    finally:
        con.close()
    if as_json:
        echo_json([json.loads(json.dumps(s.as_dict(), default=str)) for s in sites])
        return
    for site in sites:
        langs = ",".join(site.languages) or site.default_lang or "-"
        overrides = " ".join(f"{k}={getattr(site, k)}" for k in OVERRIDES if getattr(site, k) is not None)
        click.echo(f"{site.code:<20}{site.name:<30}{langs:<14}{overrides}")
