"""What every `koban-geo` command module shares: the plain failure exit, the default actor, JSON output and
the shape of the CLI context object. No other module of the CLI defines these."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, Protocol

import click


class StoreContext(Protocol):
    """The main group's context object (koban_geo.cli.main._Context), as the command modules see it."""

    settings: Any

    def connect(self, read_only: bool = False, *, needs_site: bool = True) -> Any: ...


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `koban-geo: message` on stderr and exit (2: nothing was done)."""
    click.echo(f"koban-geo: {message}", err=True)
    sys.exit(code)


def os_user() -> str:
    """The default actor for the audit log: the OS login name, or 'cli' where there is none (containers)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@contextmanager
def without_pandas() -> Iterator[None]:
    """Run a command that never uses pandas without loading it (0.3 s and more at every start).

    DuckDB 1.5's Python client imports pandas (and numpy) the first time it binds a parameter, to check for
    pandas values. While pandas is not loaded yet, this hides it (`sys.modules["pandas"] = None`), so DuckDB
    skips the check; DuckDB tries the import again on later calls, and the name is restored on the way out,
    so nothing after the command is affected. Code inside that does import pandas fails loudly (ImportError).
    """
    if "pandas" in sys.modules:
        yield
        return
    sys.modules["pandas"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if "pandas" in sys.modules and sys.modules["pandas"] is None:
            del sys.modules["pandas"]
