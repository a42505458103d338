"""`koban-geo basemap`: build the offline vector basemap from an OpenStreetMap extract, and say what an archive
holds. Thin commands over koban_geo.basemap; the main group (koban_geo.cli) registers them.

Exit status: 0 done; 2 nothing written (a missing or unreadable extract, bad zoom levels, no archive).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from koban_geo.cli.common import echo_json, fail


@click.group("basemap")
def basemap_group() -> None:
    """The offline vector basemap (streets, buildings, water, parks, rail and names) that every map draws
    when no tile server is configured (KOBAN_TILES_URL)."""


@basemap_group.command("build")
@click.argument("extract", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The .pmtiles file to write (default: KOBAN_BASEMAP, or beside the store: "
                   "koban.duckdb -> koban.basemap.pmtiles).")  # fmt: skip
@click.option("--minzoom", type=int, default=12, show_default=True, help="First zoom level cut.")
@click.option("--maxzoom", type=int, default=17, show_default=True,
              help="Last zoom level cut (the map draws it larger beyond).")  # fmt: skip
@click.pass_obj
def build_command(obj: Any, extract: Path, out: Path | None, minzoom: int, maxzoom: int) -> None:
    """Cut the OpenStreetMap extract EXTRACT (.osm.pbf, e.g. a city from a Geofabrik-style download)
    into one PMTiles archive of vector tiles. The dashboard serves it itself: no internet needed."""
    from koban_geo.basemap import BasemapError, archive_path, build_basemap

    target = out if out is not None else archive_path(obj.settings)
    try:
        report = build_basemap(
            extract, target, minzoom=minzoom, maxzoom=maxzoom, progress=lambda m: click.echo(f"  {m}")
        )
    except BasemapError as exc:
        fail(str(exc))
    w, s, e, n = report.bounds
    click.echo(
        f"basemap {report.path}: zoom {report.minzoom}-{report.maxzoom}, {report.tiles} tiles, "
        f"{report.size / 1e6:.2f} MB, {report.seconds:.1f} s; area {w:.4f},{s:.4f} to {e:.4f},{n:.4f}"
    )


@basemap_group.command("info")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.pass_obj
def info_command(obj: Any, archive: Path | None) -> None:
    """Show what the basemap ARCHIVE holds (default: the one the dashboard serves), as JSON."""
    from koban_geo.basemap import BasemapError, archive_path, open_archive

    path = archive if archive is not None else archive_path(obj.settings)
    try:
        opened = open_archive(path)
    except BasemapError as exc:
        fail(str(exc))
    if opened is None:
        fail(f"no basemap at {path}: build one with `koban-geo basemap build EXTRACT.osm.pbf`")
    meta = opened.metadata()
    echo_json(
        {
            "path": str(path),
            "bytes": path.stat().st_size,
            "minzoom": opened.minzoom,
            "maxzoom": opened.maxzoom,
            "bounds": opened.bounds,
            "tiles": opened.header["addressed_tiles_count"],
            "clustered": opened.header["clustered"],
            "layers": [layer.get("id") for layer in meta.get("vector_layers", [])],
            "attribution": meta.get("attribution"),
            "generator": meta.get("generator"),
        }
    )
