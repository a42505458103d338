"""Where the SQL files and the bundled data live, in a checkout and in an installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent  # the koban_geo package (this file is in store/)


def _locate(installed: str, checkout: str) -> Path:
    # A wheel carries sql/ and data/ inside the package (see pyproject force-include);
    # an editable install or a plain checkout finds them beside the package.
    for candidate in (_PKG / installed, _PKG.parent / checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {checkout}/ folder of koban-geo (looked in {_PKG})")


@cache
def sql_dir() -> Path:
    return _locate("_sql", "sql")


@cache
def data_dir() -> Path:
    return _locate("_data", "data")


@cache
def load_sql(name: str) -> str:
    """Text of `sql/<name>.sql` (name may contain a sub-folder, e.g. ``queries/stats_tables``)."""
    path = sql_dir() / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL file named {name!r} in {sql_dir()}")
    return path.read_text(encoding="utf-8")


def app_path() -> Path:
    """The dashboard entry point (dashboard/server.py beside the package, or $KOBAN_APP)."""
    import os

    override = os.environ.get("KOBAN_APP")
    path = Path(override) if override else _PKG.parent / "dashboard" / "server.py"
    if not path.is_file():
        raise FileNotFoundError(f"dashboard not found at {path}; set KOBAN_APP to dashboard/server.py")
    return path
