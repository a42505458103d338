"""`koban-geo risk` and `koban-geo near-repeat`: the Analysis step of SARA (why here? why now?), thin commands
over koban_geo.analysis.risk and koban_geo.analysis.near_repeat. The main group (koban_geo.cli.main) registers
them; each takes the group's context object (`.connect()`, `.settings`) with `click.pass_obj`.

Exit status: 0 done; 2 nothing done (unknown layer or theme, bad bands, nothing to compare, privacy refusal).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from koban_geo.cli.common import StoreContext, echo_json, fail

AUDIENCES = ("public", "council", "officer", "analyst")


def _edges(value: str | None, what: str) -> tuple[float, ...] | None:
    """'0,100,200' -> (0.0, 100.0, 200.0); None when not given."""
    if value is None:
        return None
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        fail(f"{what}: give numbers separated by commas, e.g. 0,100,200,300 (not {value!r})")


def _filter(obj: StoreContext, themes: tuple[str, ...], since: datetime | None, until: datetime | None,
            areas: tuple[str, ...], unit: str | None) -> Any:  # fmt: skip
    from koban_geo.analysis.grid import Filter

    codes = tuple(t.strip() for value in themes for t in value.split(",") if t.strip())
    chosen: Any = unit or obj.settings.count_unit  # "reports" | "groups": click and Settings check it
    return Filter(themes=codes or None, since=since, until=until, areas=areas or None, unit=chosen)


def _common(command: Any) -> Any:
    """The options both commands share: themes, window, areas, unit, audience, JSON."""
    options = [
        click.option("--since", type=click.DateTime(), default=None, help="First day counted (YYYY-MM-DD)."),
        click.option(
            "--until",
            type=click.DateTime(),
            default=None,
            help="Day after the last day counted (YYYY-MM-DD).",
        ),  # fmt: skip
        click.option(
            "--area",
            "areas",
            multiple=True,
            metavar="CODE",
            help="Area code; repeatable (default: the whole study area).",
        ),  # fmt: skip
        click.option(
            "--unit",
            type=click.Choice(["reports", "groups"]),
            default=None,
            help="Count every report or near-duplicate groups (default $KOBAN_COUNT_UNIT, groups).",
        ),  # fmt: skip
        click.option(
            "--audience",
            type=click.Choice(AUDIENCES),
            default="public",
            show_default=True,
            help="Audience tier the output is made for (public and council: counts under k hidden, "
            "and nothing computed from them).",
        ),  # fmt: skip
        click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("risk")
@click.option("--layer", "layers", multiple=True, metavar="NAME",
              help="Open-data layer (as ingested with --kind layer --layer NAME); repeatable, at least one.")  # fmt: skip
@click.option("--theme", "themes", multiple=True, metavar="CODE",
              help="Theme code; repeatable or comma separated (default: every theme but the sensitive ones).")  # fmt: skip
@click.option("--bands", default=None, metavar="EDGES",
              help="Distance band edges in metres, comma separated [default: 0,100,200,300: within 100 m, "
                   "101-200 m, 201-300 m, against more than 300 m]. Bands finer than the 100 m snapping "
                   "measure squares, not metres.")  # fmt: skip
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Significance level (after Benjamini-Hochberg correction).")  # fmt: skip
@_common
@click.pass_obj
def risk_command(obj: StoreContext, layers: tuple[str, ...], themes: tuple[str, ...], bands: str | None,
                 alpha: float, since: datetime | None, until: datetime | None, areas: tuple[str, ...],
                 unit: str | None, audience: str, as_json: bool) -> None:  # fmt: skip
    """Risk factors: how much denser concerns are within distance bands of each layer's features than
    farther away (relative risk, confidence interval, exact test, Benjamini-Hochberg across layers x
    bands), in plain sentences. Example: koban-geo risk --layer licensed_premises --theme drugs."""
    from koban_geo.analysis.risk import DEFAULT_BANDS, layer_names, risk_factors

    con = obj.connect(read_only=True)
    if not layers:
        known = ", ".join(layer_names(con)) or "none (ingest one with --kind layer)"
        fail(f"name at least one --layer; layers in the store: {known}")
    try:
        report = risk_factors(con, obj.settings, list(layers), _filter(obj, themes, since, until, areas, unit),
                              bands=_edges(bands, "--bands") or DEFAULT_BANDS, audience=audience, alpha=alpha)  # fmt: skip
    except ValueError as exc:  # RiskError, unknown theme codes, privacy refusals
        fail(str(exc))
    finally:
        con.close()
    if as_json:
        echo_json(report.as_dict())
        return
    meta = report.meta
    total = "hidden" if meta["total"] is None else f"{meta['total']:,}"
    click.echo(f"risk factors for {', '.join(meta['filter']['themes'])} ({meta['filter']['unit']}): {total} in "
               f"{meta['study_cells']:,} squares of {meta['cell_m']} m ({meta['study_area_km2']:g} km²), "
               f"{audience} tier")  # fmt: skip
    click.echo(f"{'layer':<22}{'band':<18}{'squares':>8}{'count':>8}{'per km²':>9}{'RR':>7}  "
               f"{'CI':<13}{'p':>8}{'q':>8}")  # fmt: skip
    for row in report.rows:
        count = "–" if row["count"] is None else str(row["count"])
        density = "–" if row["density_km2"] is None else f"{row['density_km2']:.1f}"
        rr = "" if row["rr"] is None else f"{row['rr']:.2f}"
        ci = ""
        if row["rr_low"] is not None:
            high = "inf" if row["rr_high"] is None else f"{row['rr_high']:.2f}"
            ci = f"{row['rr_low']:.2f}-{high}"
        p = "" if row["p"] is None else _p(row["p"])
        q = "" if row["q"] is None else _p(row["q"])
        mark = " *" if row["significant"] else ""
        click.echo(f"{row['layer']:<22}{row['band']:<18}{row['cells']:>8}{count:>8}{density:>9}{rr:>7}  "
                   f"{ci:<13}{p:>8}{q:>8}{mark}")  # fmt: skip
    click.echo(f"* significant at {alpha:g} after Benjamini-Hochberg across {meta['tests']} test{'s' if meta['tests'] != 1 else ''}; "
               f"overdispersion per layer: {', '.join(f'{k} {v:g}' for k, v in meta['dispersion'].items())}")  # fmt: skip
    for text in report.sentences:
        click.echo(text)
    for warning in meta["warnings"]:
        click.echo(f"note: {warning}")
    click.echo(meta["precision_note"])


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


@click.command("near-repeat")
@click.option("--theme", "themes", multiple=True, required=True, metavar="CODE",
              help="Theme code, e.g. burglary; repeatable or comma separated.")  # fmt: skip
@click.option("--distance-bands", default=None, metavar="EDGES",
              help="Distance band edges in metres [default: 0,100,200,300,400: 0-100, 101-200, ... m]; start "
                   "with 0,0 for a same-square band. The 100 m snapping puts same-square pairs at 0 m.")  # fmt: skip
@click.option("--day-bands", default=None, metavar="EDGES",
              help="Time band edges in whole days [default: 0,7,14,21,28: 0-7, 8-14, 15-21, 22-28 days].")  # fmt: skip
@click.option("--permutations", type=click.IntRange(1, 9999), default=99, show_default=True,
              help="Monte Carlo permutations of the times (999 for p-values down to 0.001; ten times slower).")  # fmt: skip
@click.option(
    "--seed", type=int, default=None, help="Random seed for the permutations (same seed, same table)."
)
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Significance level.")  # fmt: skip
@_common
@click.pass_obj
def near_repeat_command(obj: StoreContext, themes: tuple[str, ...], distance_bands: str | None,
                        day_bands: str | None, permutations: int, seed: int | None, alpha: float,
                        since: datetime | None, until: datetime | None, areas: tuple[str, ...], unit: str | None,
                        audience: str, as_json: bool) -> None:  # fmt: skip
    """Near repeats (Knox test, as Ratcliffe's Near Repeat Calculator reports it): pairs of events per
    distance band x time band against Monte Carlo permutations of the times; Knox ratio, p-value and
    Benjamini-Hochberg q per cell. Example: koban-geo near-repeat --theme burglary --seed 1."""
    from koban_geo.analysis.near_repeat import (
        DEFAULT_DAY_BANDS,
        DEFAULT_DISTANCE_BANDS,
        near_repeat,
    )

    con = obj.connect(read_only=True)
    try:
        report = near_repeat(
            con, obj.settings, _filter(obj, themes, since, until, areas, unit), audience=audience,
            distance_edges=_edges(distance_bands, "--distance-bands") or DEFAULT_DISTANCE_BANDS,
            day_edges=_edges(day_bands, "--day-bands") or DEFAULT_DAY_BANDS,
            permutations=permutations, seed=seed, alpha=alpha,
        )  # fmt: skip
    except ValueError as exc:  # NearRepeatError, unknown theme codes, privacy refusals
        fail(str(exc))
    finally:
        con.close()
    if as_json:
        echo_json(report.as_dict())
        return
    meta = report.meta
    events = "hidden" if meta["events"] is None else f"{meta['events']:,}"
    click.echo(f"near repeats of {', '.join(meta['filter']['themes'])} ({meta['filter']['unit']}): {events} "
               f"events, {meta['permutations']} permutations, seed {meta['seed']}")  # fmt: skip
    times = list(dict.fromkeys(row["time"] for row in report.rows))
    click.echo("Knox ratio (observed pairs / mean permuted); * p <= alpha, ** also after correction")
    click.echo(f"{'distance':<16}" + "".join(f"{t:>19}" for t in times))
    for distance in dict.fromkeys(row["distance"] for row in report.rows):
        cells = []
        for row in (r for r in report.rows if r["distance"] == distance):
            if row["knox_ratio"] is None:
                cells.append("–" if row["pairs"] is None else f"({row['pairs']})")
            else:
                mark = "**" if row["significant_corrected"] else "*" if row["significant"] else ""
                cells.append(f"{row['knox_ratio']:.2f}{mark} ({row['pairs']})")
        click.echo(f"{distance:<16}" + "".join(f"{c:>19}" for c in cells))
    for text in report.sentences:
        click.echo(text)
    click.echo(f"note: {meta['snapping']}")
    click.echo(meta["precision_note"])


COMMANDS = (risk_command, near_repeat_command)
