"""The CLI imports only what a command uses: `--help` and `stats` never load pandas, scipy, scikit-learn,
Streamlit or folium (each costs tenths of a second at every start; bench/outputs.py times `--help`).
Checked in a fresh interpreter per command, by the modules it holds when the command ends; no timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "scipy", "sklearn", "streamlit", "folium", "geopandas", "pyarrow", "pydantic")

# Runs the console script's entry point and prints the loaded top-level packages when the process exits
# (click ends every command with sys.exit).
_PROBE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES=" + json.dumps(sorted({m.split('.')[0] for m in sys.modules}))))
from koban_geo.cli.main import main
sys.argv = ["koban-geo", *sys.argv[1:]]
main()
"""


def _modules(*args: str, env: dict[str, str] | None = None) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


@pytest.mark.parametrize("args", [["--help"], ["hotspots", "--help"], ["export", "--help"], ["--version"]])
def test_help_loads_no_heavy_module(args):
    loaded = _modules(*args)
    assert "koban_geo" in loaded and "click" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_stats_loads_no_heavy_module(tmp_path: Path):
    db = tmp_path / "store.duckdb"
    subprocess.run([sys.executable, "-m", "koban_geo", "--db", str(db), "init"], check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    loaded = _modules("--db", str(db), "stats", "--json")
    assert "duckdb" in loaded  # the command really ran against the store
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    # the probe can fail: a command that needs pandas (the meetings table) is seen loading it
    assert "pandas" in _modules("--db", str(db), "meetings", "list")


def test_user_roles_on_the_command_line_are_the_account_roles():
    from koban_geo.cli.users import ROLES
    from koban_geo.community.accounts import Role

    assert tuple(str(r) for r in Role) == ROLES


@pytest.mark.parametrize("suffix", ["geojson", "csv", "parquet", "gpkg"])
def test_analyst_hotspots_in_a_fresh_process(demo_db: Path, tmp_path: Path, suffix: str):
    """The analysts' Gi* export runs in a process of its own in every format; GeoJSON and CSV without pandas
    (DuckDB is kept from importing it), GeoParquet and GeoPackage with it (pyarrow and GDAL's route ask)."""
    import shutil

    db = tmp_path / "store.duckdb"
    shutil.copyfile(demo_db, db)
    out = tmp_path / f"cells.{suffix}"
    loaded = _modules("--db", str(db), "hotspots", "--method", "gistar", "--audience", "analyst",
                      "--out", str(out))  # fmt: skip
    assert out.stat().st_size > 1000
    if suffix in ("geojson", "csv"):  # Gi* itself needs scipy.sparse, nothing more
        assert not loaded & (set(HEAVY) - {"scipy"}), sorted(loaded & set(HEAVY))
