"""What the cell key method does to the public maps of the demo store: how many Gi* bins change when public Gi*
runs on the counts as published instead of the true ones, and how far the public area counts move.

    python bench/cellkey.py              # builds the demo store in a temp folder; writes bench/results/cellkey.md
    python bench/cellkey.py --no-write

Per filter (all non-sensitive themes, then each theme alone), reports counted (the demo's default unit) and
groups. Not a test: it measures and writes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _common
import numpy as np

HERE = Path(__file__).resolve().parent


def _measure(db: Path) -> tuple[list[dict[str, object]], dict[str, object]]:
    from koban_geo.analysis.areas import area_counts
    from koban_geo.analysis.gistar import gi_bins, gi_star, weights_queen, z_to_p
    from koban_geo.analysis.grid import Filter, bin_counts_keyed, study_grid
    from koban_geo.privacy.audience import Policy, audience_filter
    from koban_geo.privacy.cellkey import perturb, perturbation_table
    from koban_geo.store.db import connect
    from koban_geo.store.settings import Settings
    from koban_geo.store.taxonomy import sensitive_codes, theme_codes

    settings = Settings(db=db)
    con = connect(db, read_only=True)
    policy = Policy.for_audience("public", settings)
    table = perturbation_table(policy.k)
    grid = study_grid(con, 100)
    weights = weights_queen(grid)
    filters = [("all public themes", None)] + [(t, (t,)) for t in theme_codes() if t not in sensitive_codes()]
    rows: list[dict[str, object]] = []
    for unit in ("reports", "groups"):
        for name, themes in filters:
            flt = audience_filter(Filter(themes=themes, unit=unit), policy)  # type: ignore[arg-type]
            counts, keys = bin_counts_keyed(con, grid, flt)
            shown = perturb(counts, keys, table)
            bins_true = gi_bins(z := gi_star(counts, weights), z_to_p(z), fdr=True)
            bins_shown = gi_bins(z2 := gi_star(shown, weights), z_to_p(z2), fdr=True)
            occupied = counts > 0
            significant = (bins_true != 0) | (bins_shown != 0)
            changed = bins_true != bins_shown
            public, _ = area_counts(con, settings, Filter(themes=themes, unit=unit), audience="public")
            officer, _ = area_counts(con, settings, Filter(themes=themes, unit=unit), audience="officer")
            truth = {p["area_code"]: p["count"] for _, p in officer}
            moves = np.array(
                [p["count"] - truth[p["area_code"]] for _, p in public if p["count"] is not None]
            )
            rows.append({
                "unit": unit, "filter": name, "cells": int(occupied.sum()),
                "cells_perturbed": int((shown != counts).sum()),
                "significant": int(significant.sum()), "bins_changed": int(changed.sum()),
                "bins_changed_by_two": int((np.abs(bins_true - bins_shown) >= 2).sum()),
                "areas_shown": int(moves.size), "areas_moved": int((moves != 0).sum()),
                "area_mean_abs": round(float(np.abs(moves).mean()), 2) if moves.size else 0.0,
                "area_max_abs": int(np.abs(moves).max()) if moves.size else 0,
            })  # fmt: skip
    con.close()
    return rows, {"k": policy.k, "variance": table.variance(policy.k + 2)}


def _markdown(rows: list[dict[str, object]], info: dict[str, object], machine: dict[str, object]) -> str:
    lines = [
        "# Cell key method on the demo store (bench/cellkey.py)",
        "",
        f"k = {info['k']}, maximum noise D = 2, variance V = {info['variance']:.3f} (koban_geo.privacy.cellkey). "
        "Gi*: 100 m squares, queen weights, Benjamini-Hochberg bins; 'bins changed' compares Gi* on the true "
        "counts with Gi* on the counts as published (what public tiers get). Areas: the public count minus "
        "the true count, over the areas shown.",
        "",
        f"Machine: {machine.get('cpu')}, load average {machine.get('load')} during the run.",
        "",
        "| unit | filter | occupied cells | cells perturbed | significant (either) | bins changed "
        "| by 2+ levels | areas shown | areas moved | mean abs move | max abs move |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['unit']} | {r['filter']} | {r['cells']} | {r['cells_perturbed']} | {r['significant']} "
            f"| {r['bins_changed']} | {r['bins_changed_by_two']} | {r['areas_shown']} | {r['areas_moved']} "
            f"| {r['area_mean_abs']} | {r['area_max_abs']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from koban_geo.ops.demo import build_demo
    from koban_geo.store.db import connect
    from koban_geo.store.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.duckdb"
        started = time.perf_counter()
        con = connect(db)
        build_demo(con, Settings(db=db), Path(tmp) / "inputs")
        con.close()
        built = time.perf_counter() - started
        rows, info = _measure(db)
    machine = {"cpu": _common.cpu_model(), "load": round(_common.load_average(), 1)}
    text = _markdown(rows, info, machine) + f"\nDemo store built in {built:.0f} s.\n"
    print(text)
    if not args.no_write:
        (HERE / "results" / "cellkey.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
