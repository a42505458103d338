"""Mutation testing of one library module against its own test files only (mutmut 3, docs/testing.md).

    python tools/mutation.py koban_geo/privacy/cellkey.py tests/test_audience.py tests/test_differencing.py

The whole suite takes about 15 minutes, so it is never run per mutant: each run copies the committed tree
(`git archive HEAD`) into .mutation/<module>/, tells mutmut to mutate that one file and to select tests only
from the named files, runs it there and prints mutmut's counts. Survivors: `mutmut results` / `mutmut show
NAME` inside that folder. Needs the test extra (mutmut).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _config(module: str, tests: list[str]) -> str:
    quoted = ", ".join(f'"{t}"' for t in tests)
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["koban_geo"]\n'
        f'only_mutate = ["{module}"]\n'
        f"pytest_add_cli_args_test_selection = [{quoted}]\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
        'also_copy = ["sql", "data", "dashboard"]\n'
        # every mutant from a fresh fork server: forked from mutmut's own process, a mutant inherits the caches
        # (perturbation tables, taxonomy) that the stats run filled, and a mutant of a cached function survives
        'process_isolation = "forkserver"\n'
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", help="the file to mutate, e.g. koban_geo/privacy/cellkey.py")
    parser.add_argument("tests", nargs="+", help="its own test files")
    parser.add_argument("--max-children", type=int, default=1, help="mutants run at once (default 1)")
    args = parser.parse_args()
    for path in (args.module, *args.tests):
        if not (ROOT / path).is_file():
            parser.error(f"no such file: {path}")
    work = ROOT / ".mutation" / Path(args.module).stem
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    vendor = ROOT / "dashboard" / "static" / "vendor"
    if vendor.is_dir():  # fetched assets are not committed; some dashboard imports look for them
        shutil.copytree(vendor, work / "dashboard" / "static" / "vendor")
    with (work / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(_config(args.module, args.tests))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the copy, not the checkout, is tested
    mutmut = [sys.executable, "-m", "mutmut"]
    run = subprocess.run([*mutmut, "run", "--max-children", str(args.max_children)], cwd=work, env=env)
    subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, env=env)
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
