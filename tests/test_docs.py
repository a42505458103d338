"""Docs that cannot drift: the README's commands exist, and CI runs what the README tells people to run."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from koban_geo.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quickstart_shows_the_two_commands_first():
    quickstart = README.split("## Quickstart", 1)[1]
    commands = re.findall(r"^make (\w+)", quickstart, flags=re.MULTILINE)
    assert commands[:2] == ["demo", "test"]


def test_makefile_has_the_documented_targets():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("install", "demo", "test", "lint", "bench", "lock"):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_in_the_readme_table_exists():
    section = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([\w-]+)", section, flags=re.MULTILINE))
    assert {"ingest", "hotspots", "review"} <= documented
    assert documented <= set(cli.commands), documented - set(cli.commands)


def test_every_cli_option_in_the_readme_is_real():
    runner = CliRunner()
    help_text = runner.invoke(cli, ["ingest", "--help"]).stdout
    for option in set(re.findall(r"ingest [^|`]*?(--[a-z-]+)", README)):
        assert option in help_text, option


def test_every_setting_in_the_example_env_is_a_setting():
    from koban_geo.store.settings import fields

    names = re.findall(
        r"^#?\s*KOBAN_(\w+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), flags=re.MULTILINE
    )
    assert {n.lower() for n in names} <= set(fields())
