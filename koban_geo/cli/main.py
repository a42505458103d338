"""The `koban-geo` command line: a thin layer over library functions.

Exit status: 0 success; 1 done with some rows rejected; 2 nothing done (bad input or usage).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from koban_geo import __version__
from koban_geo.cli.common import fail
from koban_geo.cli.context import Context

if TYPE_CHECKING:  # imported where used: `--help` and light commands never load pandas or scipy
    from koban_geo.store.settings import Settings


_Context = Context
pass_ctx = click.make_pass_decorator(_Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="koban-geo")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="DuckDB store file (default ./koban.duckdb, or $KOBAN_DB).",
)
@click.option(
    "--site",
    default=None,
    metavar="CODE",
    help="Site to work in when the store holds several ($KOBAN_SITE; default: the store's only site).",
)
@click.pass_context
def cli(ctx: click.Context, db: Path | None, site: str | None) -> None:
    """KOBAN Geo: the neighbourhood problem map for community policing."""
    ctx.obj = _Context(db, site)


@cli.command()
@pass_ctx
def init(obj: _Context) -> None:
    """Create the store, or bring its schema up to date."""
    from koban_geo.store.db import schema_version

    con = obj.connect(needs_site=False)
    click.echo(f"store {obj.settings.db} ready (schema version {schema_version(con)})")
    con.close()


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--kind",
    type=click.Choice(["concerns", "crime", "areas", "layer", "stats"]),
    default="concerns",
    show_default=True,
    help="What the files hold.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "geojson", "open311", "policeuk"]),
    default=None,
    help="File format (default: from the name and content).",
)
@click.option(
    "--source", default=None, help="Source name for concerns; ids are unique per source (default: file stem)."
)
@click.option("--layer", default=None, help="Layer name for --kind layer (e.g. streetlights).")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Column for a concern field (id, reported_at, lat, lon, theme, text); repeatable; wins over detection.",
)
@click.option("--code-field", default=None, help="Areas: property holding the area code.")
@click.option("--name-field", default=None, help="Areas: property holding the area name.")
@click.option("--repair", is_flag=True, help="Areas: repair invalid polygons instead of rejecting the file.")
@click.option(
    "--snap-to",
    default=None,
    metavar="LAYER",
    help="Concerns: snap to the nearest point of this anonymous-points layer instead of the grid.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary per file on stdout.")
@pass_ctx
def ingest(obj: _Context, files: tuple[Path, ...], kind: str, fmt: str | None, source: str | None,
           layer: str | None, mapping: tuple[str, ...], code_field: str | None, name_field: str | None,
           repair: bool, snap_to: str | None, as_json: bool) -> None:  # fmt: skip
    """Ingest files into the store, one batch per file, all or nothing per batch.

    Rejected rows are reported as FILE:LINE: field: reason on stderr. Exit status: 0 all stored,
    1 stored with some rows rejected, 2 nothing stored.
    """
    from koban_geo.ingest import IngestError, ingest_file, parse_mapping

    try:
        fields = parse_mapping(mapping)
    except IngestError as exc:
        fail(str(exc))
    con = obj.connect()
    settings = obj.settings  # after connect: the site's settings (its grid)
    if snap_to:
        settings = settings.replace(anonymous_points_layer=snap_to)
    codes: list[int] = []
    for path in files:
        try:
            with _progress(path.name) as step:
                result = ingest_file(con, settings, path, kind=kind, fmt=fmt, source=source, layer=layer,
                                     code_field=code_field, name_field=name_field, mapping=fields, repair=repair,
                                     progress=step)  # fmt: skip
        except IngestError as exc:
            click.echo(f"{exc}", err=True)
            click.echo(f"{path.name}: rejected whole; nothing stored", err=True)
            if as_json:
                click.echo(json.dumps({"file": path.name, "kind": kind, "exit_code": 2, "error": str(exc)}))
            codes.append(2)
            continue
        for line in result.errors + result.warnings:
            click.echo(line, err=True)
        if as_json:
            click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        elif result.already_ingested:
            click.echo(f"{path.name}: already ingested as batch {result.batch_id}; nothing to do")
        else:
            click.echo(
                f"{path.name}: {result.accepted} stored, {result.rejected} rejected, "
                f"{result.duplicate} already there"
                + (f" (batch {result.batch_id})" if result.batch_id else "")
            )
        codes.append(result.exit_code)
    con.close()
    sys.exit(0 if all(c == 0 for c in codes) else 2 if all(c == 2 for c in codes) else 1)


class _progress:
    """A stage bar on stderr when it is a terminal; silent otherwise (pipes, CI, --json)."""

    STAGES = ("reading", "anonymising", "classifying", "storing")

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __enter__(self) -> Callable[[str], None]:
        if sys.stderr.isatty():
            self.bar = click.progressbar(length=len(self.STAGES), label=self.label, file=sys.stderr,
                                         item_show_func=lambda s: s)  # fmt: skip
            self.bar.__enter__()
        return self.step

    def step(self, stage: str) -> None:
        if self.bar is not None:
            self.bar.update(1, stage)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


@cli.command()
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same demo).")
@click.option("--force", is_flag=True, help="Replace an existing store file.")
@click.option("--last-day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day the demo data end (default today): same seed and day, same store.")  # fmt: skip
@pass_ctx
def demo(obj: _Context, seed: int, force: bool, last_day: datetime | None) -> None:
    """Build the demo store: real Helsinki geography (OpenStreetMap), synthetic concerns and crime, 18 months
    ending on the day it is built (or --last-day)."""
    import tempfile

    from koban_geo.ops.demo import build_demo

    db = obj.settings.db
    if db.exists():
        if not force:
            fail(f"{db} already exists; use --force to replace it, or --db for another file")
        db.unlink()
        Path(f"{db}.wal").unlink(missing_ok=True)
    con = obj.connect()
    with tempfile.TemporaryDirectory(prefix="koban-demo-") as tmp:
        counts = build_demo(
            con, obj.settings, Path(tmp), seed=seed, last_day=last_day.date() if last_day else None
        )
    password, code = _demo_login_and_meeting(con, obj.settings)
    con.close()
    click.echo(f"demo store {db}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    _demo_basemap(obj.settings)
    click.echo(f"dashboard login: demo / {password}  (an admin account; shown once, change it with "
               f"`koban-geo users passwd demo`)")  # fmt: skip
    click.echo(f"open demo meeting: join code {code} (phones open /vote?meeting={code})")


def _demo_basemap(settings: Settings) -> None:
    """The demo's offline basemap beside the store, from the extract `make demo-extract` put in place."""
    from koban_geo.basemap import archive_path, build_basemap, demo_extract

    extract = demo_extract()
    if extract is None:
        click.echo(
            "no basemap: run `make demo-extract`, then `koban-geo basemap build .cache/osm/Helsinki.osm.pbf`"
        )
        return
    report = build_basemap(extract, archive_path(settings))
    click.echo(f"basemap {report.path}: zoom {report.minzoom}-{report.maxzoom}, {report.size / 1e6:.1f} MB")


def _demo_login_and_meeting(con: Any, settings: Settings) -> tuple[str, str]:
    """An admin account with a fresh random password (never a password in the repository) and one open
    meeting over the demo's central areas, so that every screen has something to show."""
    import secrets
    from datetime import date, timedelta

    from koban_geo.community.accounts import add_user
    from koban_geo.community.meetings import create_meeting, open_meeting
    from koban_geo.community.proposals import propose_candidates
    from koban_geo.store.scope import site_of

    password = secrets.token_urlsafe(12)
    add_user(con, "demo", password, "admin", actor="koban-geo demo")
    areas = [row[0] for row in con.execute(
        "SELECT area_code FROM concerns WHERE site = ? GROUP BY area_code ORDER BY count(*) DESC LIMIT 3",
        [site_of(con)]).fetchall()]  # fmt: skip
    items = propose_candidates(con, settings, areas, None, None)
    meeting = create_meeting(con, title="Demo neighbourhood meeting", date=date.today() + timedelta(days=7),
                             areas=areas, actor="koban-geo demo", candidates=items)  # fmt: skip
    open_meeting(con, meeting.id, "koban-geo demo")
    return password, meeting.code


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def stats(obj: _Context, as_json: bool) -> None:
    """Counts per table, per theme and per area."""
    from koban_geo.cli.common import without_pandas
    from koban_geo.store.stats import store_stats

    with without_pandas():  # a quick look at the store: DuckDB alone
        con = obj.connect(read_only=True)
        report = store_stats(con)
        con.close()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"store {obj.settings.db} (schema version {report['schema_version']})")
    for table, count in report["tables"].items():
        click.echo(f"  {table:<16}{count:>10}")
    if report["themes"]:
        click.echo("concerns per theme:")
        for theme, count in report["themes"].items():
            click.echo(f"  {theme:<16}{count:>10}")
    if report["areas"]:
        click.echo("concerns per area:")
        for area, count in report["areas"].items():
            click.echo(f"  {area:<16}{count:>10}")


@cli.command()
@click.option("--port", type=int, default=None, help="Port (default 8501 or $KOBAN_PORT).")
@pass_ctx
def serve(obj: _Context, port: int | None) -> None:
    """Start the dashboard (headless) on the store.

    The command becomes the Streamlit server (exec, same process id), so stopping it (SIGTERM, Ctrl-C, a
    service manager) stops the server and frees the store for CLI writes.
    """
    import os
    from importlib.util import find_spec

    from koban_geo.store.resources import app_path

    missing = [name for name in ("streamlit", "streamlit_folium", "folium") if find_spec(name) is None]
    if missing:
        fail(
            f"the dashboard needs the app extra ({', '.join(missing)} missing): pip install 'koban-geo[app]'"
        )
    app = app_path()
    env = dict(os.environ, KOBAN_DB=str(obj.settings.db.resolve()))
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.port", str(port or obj.settings.port), "--browser.gatherUsageStats", "false"]  # fmt: skip
    os.chdir(app.parent.parent)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, cmd, env)  # a child process would keep the store when only this one is stopped


@cli.command()
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
def scrub(source: Any) -> None:
    """Print the scrubbed form of each input line (FILE or - for stdin), as ingestion stores it."""
    from koban_geo.privacy.scrub import scrub_lines

    for line in scrub_lines(raw.rstrip("\n") for raw in source):
        click.echo(line)


@cli.command()
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per line (theme, confidence, language)."
)
def classify(source: Any, as_json: bool) -> None:
    """Classify each input line (FILE or - for stdin) into a theme."""
    from koban_geo.ingest.classify import classify_lines

    for result in classify_lines(raw.rstrip("\n") for raw in source):
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            flag = " (low confidence: for a moderator)" if result["flagged"] else ""
            click.echo(f"{result['theme']}\t{result['confidence']:.2f}\t{result['language']}{flag}")


@cli.group()
def themes() -> None:
    """The theme taxonomy and the mapping of source labels to themes."""


@themes.command("list")
@click.option(
    "--lang", default="en", show_default=True, type=click.Choice(["en", "nl", "fr", "pl", "fi", "es", "pt"])
)
def themes_list(lang: str) -> None:
    """List theme codes with their labels."""
    from koban_geo.store.taxonomy import themes as all_themes

    for t in all_themes():
        click.echo(f"{t.code:<16}{t.labels[lang]}{'  (sensitive: never public)' if t.sensitive else ''}")


@themes.command("map")
@click.argument("label")
@click.argument("theme")
@pass_ctx
def themes_map(obj: _Context, label: str, theme: str) -> None:
    """Map a source LABEL (or open311:SERVICE_CODE) to a THEME code; used by later ingests."""
    from koban_geo.store.taxonomy import set_mapping

    con = obj.connect()
    try:
        set_mapping(con, label, theme)
    except ValueError as exc:
        fail(str(exc))
    con.close()
    click.echo(f"{label!r} -> {theme}")


@cli.command()
@click.option("--method", type=click.Choice(["gistar", "kde", "dbscan", "emerging"]), required=True)
@click.option(
    "--theme",
    "themes",
    multiple=True,
    metavar="CODE",
    help="Theme code; repeatable (default: all but sensitive).",
)
@click.option("--since", type=click.DateTime(), default=None, help="First day counted (YYYY-MM-DD).")
@click.option(
    "--until", type=click.DateTime(), default=None, help="Day after the last day counted (YYYY-MM-DD)."
)
@click.option("--area", "areas", multiple=True, metavar="CODE", help="Area code; repeatable.")
@click.option(
    "--cell",
    "cell_m",
    type=click.IntRange(100, 5000),
    default=100,
    show_default=True,
    help="Grid cell in metres (a multiple of the 100 m snapping grid).",
)
@click.option(
    "--unit",
    type=click.Choice(["reports", "groups"]),
    default=None,
    help="Count every report or near-duplicate groups (default $KOBAN_COUNT_UNIT, groups).",
)
@click.option("--weights", type=click.Choice(["queen", "distance"]), default="queen", show_default=True)
@click.option(
    "--distance", "distance_m", type=float, default=None, help="Distance band in metres (--weights distance)."
)
@click.option(
    "--freq",
    type=click.Choice(["month", "week"]),
    default="month",
    show_default=True,
    help="Time slices for --method emerging.",
)
@click.option(
    "--eps", "eps_m", type=float, default=105, show_default=True, help="DBSCAN neighbourhood (metres)."
)
@click.option(
    "--min-reports",
    type=click.IntRange(2),
    default=None,
    help="DBSCAN: reports within --eps that make a core place [default: 3x the study area's even spread, "
    "at least 10].",
)
@click.option(
    "--audience",
    type=click.Choice(["public", "council", "officer", "analyst"]),
    default="public",
    show_default=True,
    help="Audience tier the output is made for.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write; the format follows the suffix: .geojson, .csv, .gpkg, .parquet (GeoParquet).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "csv", "gpkg", "geoparquet"]),
    default=None,
    help="Format, when the file name does not say it.",
)
@click.option(
    "--all-cells/--cells-with-data",
    "all_cells",
    default=None,
    help="Gi*: every cell of the study area with count, gi_z and gi_p, so esda reproduces the z-scores "
    "(README), or only cells with reports or a bin [default: every cell for analyst; officer may ask; "
    "refused for public and council].",
)
@pass_ctx
def hotspots(obj: _Context, method: str, themes: tuple[str, ...], since: Any, until: Any, areas: tuple[str, ...],
             cell_m: int, unit: str | None, weights: str, distance_m: float | None, freq: str, eps_m: float,
             min_reports: int | None, audience: str, out: Path, fmt: str | None, all_cells: bool | None) -> None:  # fmt: skip
    """Write hotspots (Gi* cells, emerging trends, DBSCAN clusters or a KDE surface) as RFC 7946 GeoJSON,
    CSV, GeoPackage or GeoParquet."""
    import os
    from contextlib import nullcontext

    if method == "gistar" and "numpy" not in sys.modules:
        # Gi* calls no BLAS routine, and OpenBLAS starting its thread pool when numpy loads costs about
        # 0.1 s of CPU; a value the user set wins
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    from koban_geo.analysis.grid import Filter
    from koban_geo.analysis.hotspots import hotspots as make_hotspots
    from koban_geo.cli.common import without_pandas
    from koban_geo.outputs.export import FORMATS, Layer, format_of, write_layer
    from koban_geo.privacy.audience import PrivacyError
    from koban_geo.store.sql import audit

    if cell_m % 100:
        fail("--cell must be a multiple of 100 m (the snapping grid)")
    kind = (
        format_of(out, fmt) if fmt or out.suffix.lower() in FORMATS else "geojson"
    )  # any other name: GeoJSON
    flt = Filter(themes=themes or None, since=since, until=until, areas=areas or None,
                 unit=unit or obj.settings.count_unit)  # type: ignore[arg-type]  # fmt: skip
    # officers' and analysts' Gi* cells as GeoJSON or CSV need no table library (no suppression): DuckDB is
    # kept from loading pandas for nothing (cli.common.without_pandas). Not for GeoParquet or GeoPackage:
    # pyarrow and geopandas look for pandas themselves, and other outputs load it as they need it.
    light = method == "gistar" and audience in ("officer", "analyst") and kind in ("geojson", "csv")
    with without_pandas() if light else nullcontext():
        # Gi* counts stored metric places on a stored study grid: no geometry function, so the spatial
        # extension (0.4-0.5 s) is loaded only if the grid must be built (analysis.grid.study_grid)
        con = obj.connect(spatial=method != "gistar")
        try:
            rows, meta = make_hotspots(
                con, obj.settings, method=cast(Any, method), flt=flt, audience=audience, cell_m=cell_m,
                weights=cast(Any, weights), distance_m=distance_m, freq=cast(Any, freq), eps_m=eps_m,
                min_reports=min_reports, all_cells=all_cells, rings=kind == "geojson",
            )  # fmt: skip
        except (PrivacyError, ValueError) as exc:
            fail(str(exc))
        write_layer(out, Layer("hotspots", rows, meta), kind)
        audit(con, "cli", "export.hotspots", f"{method} {audience} -> {out.name} ({len(rows)} features)")
        con.close()
    click.echo(f"{out}: {len(rows)} features ({method}, {audience}); {meta['precision_note']}")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["policeuk"]), default="policeuk", show_default=True)
@click.option(
    "--train",
    "train",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Training file (earlier months); repeatable.",
)
@click.option(
    "--test",
    "test",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Test file (later months); repeatable.",
)
@click.option(
    "--from-db", is_flag=True, help="Use the store's concerns instead of files (--train-month/--test-month)."
)
@click.option(
    "--train-month", multiple=True, metavar="YYYY-MM", help="With --from-db: a training month; repeatable."
)
@click.option(
    "--test-month", multiple=True, metavar="YYYY-MM", help="With --from-db: a test month; repeatable."
)
@click.option(
    "--cell", type=click.FloatRange(10, 5000), default=250, show_default=True, help="Cell size in metres."
)
@click.option(
    "--coverage",
    type=click.FloatRange(0, 1, min_open=True),
    multiple=True,
    help="Share of cells flagged; repeatable (default 0.01 0.05 0.1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@pass_ctx
def backtest(obj: _Context, fmt: str, train: tuple[Path, ...], test: tuple[Path, ...], from_db: bool,
             train_month: tuple[str, ...], test_month: tuple[str, ...], cell: float, coverage: tuple[float, ...],
             as_json: bool) -> None:  # fmt: skip
    """Score the project's predictor against past counts and a KDE: hit rate, PAI and PEI* per coverage."""
    from koban_geo.analysis.backtest import DEFAULT_COVERAGE, BacktestError, backtest_store, run_backtest

    shares = coverage or DEFAULT_COVERAGE
    try:
        if from_db:
            con = obj.connect(read_only=True)
            result = backtest_store(con, train_month, test_month, cell=cell, coverage=shares)
            con.close()
        else:
            if not train or not test:
                fail("name --train and --test files (or use --from-db)")
            result = run_backtest(train, test, cell=cell, coverage=shares, fmt=fmt)
    except BacktestError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, default=str))
        return
    click.echo(f"{'method':<8}{'coverage':>9}{'cells':>7}{'hit rate':>10}{'PAI':>8}{'PEI*':>7}")
    for method, rows in result["methods"].items():
        for row in rows:
            click.echo(f"{method:<8}{row['coverage']:>9.2f}{row['cells']:>7}{row['hit_rate']:>10.3f}"
                       f"{row['pai']:>8.2f}{row['pei_star']:>7.2f}")  # fmt: skip


def _register() -> None:
    """Command groups kept in their own modules (one topic each), attached to the main group."""
    from koban_geo.cli.analyst import COMMANDS as analyst
    from koban_geo.cli.basemap import basemap_group
    from koban_geo.cli.export import export_command, problems_group
    from koban_geo.cli.meetings import meetings
    from koban_geo.cli.ops import COMMANDS as ops
    from koban_geo.cli.review import review
    from koban_geo.cli.sites import sites_group
    from koban_geo.cli.users import users

    for command in (
        sites_group,
        users,
        meetings,
        export_command,
        problems_group,
        basemap_group,
        review,
        *ops,
        *analyst,
    ):
        cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="koban-geo")


if __name__ == "__main__":
    main()
