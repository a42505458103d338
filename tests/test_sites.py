"""Site profiles (issue 16, item 1): `koban-geo sites add|list`, the global --site, per-site settings, the same
file ingested in two sites, and accounts limited to their sites. Isolation of every output is the property
test in tests/test_site_isolation.py."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from koban_geo.cli.main import cli
from koban_geo.community.account_sites import grant_site, revoke_site, sites_of
from koban_geo.community.accounts import add_user
from koban_geo.store.db import connect
from koban_geo.store.scope import SiteError, bind_site, bound_site
from koban_geo.store.settings import Settings
from koban_geo.store.sites import add_site, choose_site, get_site, list_sites, site_settings
from koban_geo.store.sql import query
from tests.helpers import write_areas, write_text

PASSWORD = "correct horse battery staple 42"


def run(db: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "sites.duckdb"
    assert run(path, "init")[0] == 0
    return path


def _concerns(path: Path) -> Path:
    """Eight concerns in Kamppi (HEL-W) and eight in Kluuvi (HEL-E), days apart: 8 passes k=5, fails k=10."""
    rows = ["id,reported_at,lat,lon,theme,text"]
    for n in range(8):
        rows.append(
            f"w{n},2026-09-{3 * n + 1:02d}T10:00:00,60.1{65 + n % 3},24.92{5 + n % 4},noise,loud music"
        )
        rows.append(f"e{n},2026-09-{3 * n + 2:02d}T10:00:00,60.1{65 + n % 3},24.95{1 + n % 4},litter,bags")
    return write_text(path, "\n".join(rows) + "\n")


def test_a_store_has_one_default_site_and_works_without_site(db):
    code, out = run(db, "sites", "list", "--json")
    assert code == 0
    assert [s["code"] for s in json.loads(out)] == ["default"]
    assert run(db, "stats", "--json")[0] == 0  # no --site needed with one site
    assert json.loads(run(db, "stats", "--json")[1])["site"] == "default"


def test_sites_add_and_list(db):
    code, out = run(db, "sites", "add", "gent", "--name", "Gent Zuid", "--lang", "nl", "--languages", "nl,en,fr",
                    "--k-min", "10", "--grid-m", "50", "--public-url", "http://10.0.0.5:8501")  # fmt: skip
    assert code == 0 and "added site gent" in out
    code, out = run(db, "sites", "list", "--json")
    sites = {s["code"]: s for s in json.loads(out)}
    assert sorted(sites) == ["default", "gent"]
    assert sites["gent"]["name"] == "Gent Zuid" and sites["gent"]["languages"] == ["nl", "en", "fr"]
    assert (
        sites["gent"]["k_min"] == 10 and sites["gent"]["grid_m"] == 50 and sites["default"]["k_min"] is None
    )
    code, out = run(db, "sites", "list")
    assert "gent" in out and "k_min=10" in out
    assert run(db, "sites", "add", "gent", "--name", "again")[0] == 2  # taken
    code, out = run(db, "sites", "add", "Gent!", "--name", "x")
    assert code == 2 and "2-32 lower-case" in out
    code, out = run(db, "sites", "add", "lyon", "--name", "Lyon", "--k-min", "1")
    assert code == 2 and "K_MIN" in out.upper()


def test_several_sites_need_a_choice_and_unknown_sites_are_named(db, monkeypatch):
    run(db, "sites", "add", "gent", "--name", "Gent")
    code, out = run(db, "stats")
    assert code == 2 and "several sites (default, gent)" in out
    code, out = run(db, "--site", "nowhere", "stats")
    assert code == 2 and "no site 'nowhere'" in out and "default, gent" in out
    assert json.loads(run(db, "--site", "gent", "stats", "--json")[1])["site"] == "gent"
    monkeypatch.setenv("KOBAN_SITE", "gent")
    assert json.loads(run(db, "stats", "--json")[1])["site"] == "gent"
    assert run(db, "init")[0] == 0  # store-wide commands need no site


def test_site_settings_override_only_what_is_set(db):
    con = connect(db)
    try:
        add_site(con, "gent", "Gent", k_min=10, retention_months=12, actor="t")
        base = Settings(db=db, k_min=6)
        gent = site_settings(con, base, "gent")
        assert (gent.k_min, gent.retention_months, gent.grid_m) == (10, 12, base.grid_m)
        assert site_settings(con, base, "default") == base
        with pytest.raises(SiteError, match="default, gent"):
            get_site(con, "lyon")
    finally:
        con.close()


def test_queries_without_a_chosen_site_refuse_rather_than_mix(db):
    con = connect(db)
    try:
        assert bound_site(con) == "default"  # a one-site store is bound to its site when opened
        add_site(con, "gent", "Gent", actor="t")
    finally:
        con.close()
    con = connect(db)
    try:
        assert bound_site(con) is None
        with pytest.raises(SiteError, match="several sites"):
            query(con, "areas_names")
        assert choose_site(con, "gent") == "gent" and bound_site(con) == "gent"
        assert query(con, "areas_names").fetchall() == []
        with pytest.raises(SiteError, match="several sites"):
            choose_site(con, None)
    finally:
        con.close()


def test_the_same_file_in_two_sites_is_a_new_batch_and_k_min_is_per_site(db, tmp_path):
    run(db, "sites", "add", "gent", "--name", "Gent", "--k-min", "10")
    areas = write_areas(tmp_path / "areas.geojson")
    concerns = _concerns(tmp_path / "concerns.csv")
    for site in ("default", "gent"):
        assert run(db, "--site", site, "ingest", "--kind", "areas", str(areas))[0] == 0
        code, out = run(db, "--site", site, "ingest", str(concerns), "--source", "app", "--json")
        assert code == 0, out
        assert json.loads(out)["accepted"] == 16  # not "already ingested": a new batch in this site
    code, out = run(db, "--site", "gent", "ingest", str(concerns), "--source", "app", "--json")
    assert json.loads(out)["accepted"] == 0  # the second time in the same site it is
    for site in ("default", "gent"):
        stats = json.loads(run(db, "--site", site, "stats", "--json")[1])
        assert stats["tables"]["concerns"] == 16 and stats["tables"]["areas"] == 2
    shown = {}
    for site in ("default", "gent"):
        out = tmp_path / f"{site}.csv"
        code, text = run(
            db, "--site", site, "export", "--what", "areas", "--audience", "public", "--out", str(out)
        )
        assert code == 0, text
        with out.open(encoding="utf-8-sig") as fh:
            shown[site] = {row["area_code"]: row for row in csv.DictReader(fh)}
    assert shown["default"]["HEL-W"]["suppressed"] in ("false", "False")  # 8 >= k 5
    assert shown["gent"]["HEL-W"]["suppressed"] in ("true", "True")  # 8 < the site's k 10
    assert shown["gent"]["HEL-W"]["count"] in ("", None)
    meta = json.loads((tmp_path / "gent.csv-metadata.json").read_text(encoding="utf-8"))["koban"]
    assert meta["site"] == {"code": "gent", "name": "Gent"} and meta["privacy"]["k"] == 10


def test_accounts_belong_to_their_sites(db):
    code, out = run(db, "users", "add", "ann", "--role", "officer", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and out == "added ann (officer, sees officer)\n"  # one site: as before
    assert json.loads(run(db, "users", "list", "--json")[1])["sites"] == [
        {"site": "default", "role": "officer"}
    ]
    run(db, "sites", "add", "gent", "--name", "Gent")
    run(db, "sites", "add", "lyon", "--name", "Lyon")
    code, out = run(db, "users", "add", "bob", "--role", "officer", "--site", "gent:analyst", "--site", "lyon",
                    "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0, out
    code, out = run(db, "users", "add", "cat", "--role", "officer", "--site", "paris", "--password-stdin",
                    stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 2 and "no site 'paris'" in out
    assert run(db, "users", "grant", "ann", "gent", "council")[0] == 0
    assert run(db, "users", "grant", "ann", "paris", "council")[0] == 2
    listed = {}
    for line in run(db, "users", "list", "--json")[1].splitlines():
        row = json.loads(line)
        listed[row["username"]] = {s["site"]: s["role"] for s in row["sites"]}
    assert listed == {
        "ann": {"default": "officer", "gent": "council"},
        "bob": {"gent": "analyst", "lyon": "officer"},
    }
    con = connect(db)
    try:
        assert [s for s, _ in sites_of(con, "bob")] == ["gent", "lyon"]
        assert revoke_site(con, "bob", "lyon", "t") and [s for s, _ in sites_of(con, "bob")] == ["gent"]
        grant_site(con, "bob", "gent", "officer", "t")
        assert sites_of(con, "bob") == [("gent", "officer")]
        bind_site(con, "lyon")
        add_user(con, "dan", PASSWORD, "council", "t")  # no sites given: the connection's site
        assert sites_of(con, "dan") == [("lyon", "council")]
        assert [s.code for s in list_sites(con)] == ["default", "gent", "lyon"]
    finally:
        con.close()
