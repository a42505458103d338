"""Risk factors: a planted effect is found with the right size, no effect gives no finding, the audience gate
hides small counts and everything computed from them. Stores are built through the real ingest."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial import cKDTree

from koban_geo.analysis.grid import Filter
from koban_geo.analysis.risk import (
    RiskError,
    band_index,
    checked_bands,
    overdispersion,
    rate_ratio,
    risk_factors,
)
from tests.planted import (
    HEIGHT,
    WIDTH,
    X0,
    Y0,
    Concerns,
    in_squares,
    ingest,
    square_centres,
    write_points_layer,
)

BANDS = (0, 100, 200, 300)
FACTOR = 3.0  # planted: drug concerns three times as dense in squares within 100 m of a licensed premise
RATE = 1.5  # drug concerns per square elsewhere


def _features(rng: np.random.Generator, n: int, margin: float = 400) -> np.ndarray:
    return np.column_stack([rng.uniform(X0 + margin, X0 + WIDTH - margin, n),
                            rng.uniform(Y0 + margin, Y0 + HEIGHT - margin, n)])  # fmt: skip


def planted_concerns(rng: np.random.Generator, premises: np.ndarray, factor: float = FACTOR) -> Concerns:
    """Poisson drug concerns per square (RATE, times `factor` within 100 m of a premise) and noise concerns
    everywhere at the same rate (another theme: it must not count)."""
    centres = square_centres()
    near = cKDTree(premises).query(centres)[0] <= 100
    drugs = np.repeat(centres, rng.poisson(np.where(near, RATE * factor, RATE)), axis=0)
    noise = np.repeat(centres, rng.poisson(RATE, len(centres)), axis=0)
    return in_squares(rng, drugs, "drugs") + in_squares(rng, noise, "noise")


@pytest.fixture(scope="module")
def planted(tmp_path_factory, _template_store):
    """A store with 12 licensed premises raising drug concerns threefold within 100 m, and 30 benches that
    do nothing (made once: ingesting ~3,300 concerns takes a second or two)."""
    import shutil

    from koban_geo.store.db import connect
    from koban_geo.store.settings import Settings

    tmp = tmp_path_factory.mktemp("risk")
    db = tmp / "koban.duckdb"
    shutil.copyfile(_template_store, db)
    settings = Settings(db=db)
    rng = np.random.default_rng(20250817)
    premises, benches = _features(rng, 12), _features(rng, 30)
    con = connect(db)
    ingest(con, settings, tmp, layers={"licensed_premises": write_points_layer(tmp / "p.geojson", premises),
                                       "benches": write_points_layer(tmp / "b.geojson", benches)},
           concerns=planted_concerns(rng, premises))  # fmt: skip
    yield con, settings
    con.close()


def rows_of(report, layer):
    return [r for r in report.rows if r["layer"] == layer]


def test_planted_factor_is_found_with_its_size(planted):
    con, settings = planted
    report = risk_factors(con, settings, ["licensed_premises", "benches"], Filter(themes=("drugs",), unit="reports"),
                          bands=BANDS, audience="analyst")  # fmt: skip
    near, mid, far, reference = rows_of(report, "licensed_premises")
    assert [r["band"] for r in (near, mid, far, reference)] == [
        "0-100 m",
        "101-200 m",
        "201-300 m",
        "more than 300 m",
    ]
    assert reference["reference"] and reference["rr"] is None
    assert near["rr_low"] < FACTOR < near["rr_high"]  # the interval holds the planted factor
    assert near["rr"] == pytest.approx(FACTOR, rel=0.2)
    assert near["significant"] and near["q"] < 0.001
    assert near["sentence"].startswith(f"Concerns about drugs are {near['rr']:.1f} times as dense within 100 m "
                                       "of licensed premises as more than 300 m away (95 % CI")  # fmt: skip
    for row in (mid, far, *rows_of(report, "benches")[:-1]):  # no effect there
        assert not row["significant"], row
        assert row["rr_low"] < 1 < row["rr_high"]
    assert report.meta["tests"] == 6 and report.meta["cell_m"] == 100
    assert report.meta["study_cells"] == 1200
    assert 0.8 < report.meta["dispersion"]["licensed_premises"] < 1.3  # Poisson data: about 1
    # exposure is the squares: every square is in one band or the reference, every concern counted once
    assert sum(r["cells"] for r in rows_of(report, "benches")) == 1200
    assert sum(r["count"] for r in rows_of(report, "benches")) == report.meta["total"]


def test_counts_follow_the_filter_and_the_unit(planted):
    con, settings = planted
    drugs = risk_factors(
        con, settings, ["benches"], Filter(themes=("drugs",), unit="reports"), audience="officer"
    )
    both = risk_factors(con, settings, ["benches"], Filter(themes=("drugs", "noise"), unit="reports"),
                        audience="officer")  # fmt: skip
    noise = con.execute("SELECT count(*) FROM concerns WHERE theme = 'noise'").fetchone()[0]
    assert both.meta["total"] == drugs.meta["total"] + noise
    groups = risk_factors(
        con, settings, ["benches"], Filter(themes=("drugs",), unit="groups"), audience="officer"
    )
    n_groups = con.execute("SELECT count(DISTINCT unit_key) FROM concerns WHERE theme = 'drugs'").fetchone()[
        0
    ]
    assert groups.meta["total"] == n_groups < drugs.meta["total"]  # same square, same theme, within 3 days
    west = risk_factors(con, settings, ["benches"], Filter(themes=("drugs",), areas=("BOX-W",), unit="reports"),
                        audience="officer")  # fmt: skip
    assert west.meta["study_cells"] == 600  # only the squares of the named area are exposed
    n_west = con.execute(
        "SELECT count(*) FROM concerns WHERE theme = 'drugs' AND area_code = 'BOX-W'"
    ).fetchone()[0]
    assert west.meta["total"] == n_west


def test_no_effect_gives_no_finding(tmp_path, con, settings):
    rng = np.random.default_rng(7)
    layers = {name: write_points_layer(tmp_path / f"{name}.geojson", _features(rng, n))
              for name, n in (("bus_stops", 15), ("schools", 8), ("kiosks", 25))}  # fmt: skip
    ingest(
        con, settings, tmp_path, layers=layers, concerns=planted_concerns(rng, _features(rng, 10), factor=1.0)
    )
    report = risk_factors(con, settings, list(layers), Filter(themes=("drugs",), unit="reports"), bands=BANDS,
                          audience="analyst")  # fmt: skip
    tested = [r for r in report.rows if not r["reference"]]
    assert len(tested) == 9 and all(r["p"] is not None for r in tested)
    assert not any(r["significant"] for r in tested)
    assert all("not clearly denser or sparser" in r["sentence"] for r in tested)


def test_the_test_keeps_its_level_and_its_interval_covers():
    """The statistics alone, over many seeds: under no effect about 5 % of bands have p < 0.05 (no more);
    with a planted factor the 95 % interval covers it about 95 % of the time."""
    rng = np.random.default_rng(1)
    cells = square_centres()
    false_positive, covered, trials = 0, 0, 200
    for _ in range(trials):
        features = _features(rng, 12)
        groups = band_index(cKDTree(features).query(cells)[0], BANDS)
        counts = rng.poisson(np.where(groups == 0, RATE * FACTOR, RATE))
        n = np.bincount(groups, minlength=4)
        o = np.bincount(groups, weights=counts, minlength=4)
        phi = overdispersion(counts, groups, np.ones(4, dtype=bool))
        planted = rate_ratio(o[0], n[0], o[3], n[3], dispersion=phi)
        covered += planted.low < FACTOR < planted.high
        false_positive += sum(rate_ratio(o[k], n[k], o[3], n[3], dispersion=phi).p < 0.05 for k in (1, 2))
    assert covered / trials >= 0.9
    assert false_positive / (2 * trials) <= 0.07


def test_overdispersion_widens_intervals_for_clustered_counts():
    rng = np.random.default_rng(3)
    groups = np.repeat([0, 1], [100, 900])
    poisson = rng.poisson(2.0, 1000)
    assert overdispersion(poisson, groups, np.array([True, True])) == pytest.approx(1.0, abs=0.15)
    clustered = rng.negative_binomial(0.5, 0.2, 1000)  # mean 2, variance 10
    phi = overdispersion(clustered, groups, np.array([True, True]))
    assert 3 < phi < 8
    o = np.bincount(groups, weights=clustered)
    plain, scaled = rate_ratio(o[0], 100, o[1], 900), rate_ratio(o[0], 100, o[1], 900, dispersion=phi)
    assert (
        scaled.rr == plain.rr and scaled.low < plain.low and scaled.high > plain.high and scaled.p > plain.p
    )


def test_public_tier_hides_small_counts_and_everything_computed_from_them(tmp_path, con, settings):
    rng = np.random.default_rng(11)
    bar = np.array([[X0 + 2000, Y0 + 1500]])
    centres = square_centres()
    near = cKDTree(bar).query(centres)[0] <= 100
    # three drug concerns near the one bar (under k = 5), twenty far from it; domestic abuse near it (sensitive)
    drugs = np.r_[centres[near][:3], centres[~near][rng.choice((~near).sum(), 20, replace=False)]]
    ingest(con, settings, tmp_path, layers={"bars": write_points_layer(tmp_path / "bars.geojson", bar)},
           concerns=in_squares(rng, drugs, "drugs") + in_squares(rng, np.repeat(bar, 9, axis=0), "domestic"))  # fmt: skip
    analyst = risk_factors(
        con, settings, ["bars"], Filter(themes=("drugs",), unit="reports"), audience="analyst"
    )
    assert rows_of(analyst, "bars")[0]["count"] == 3 and rows_of(analyst, "bars")[0]["rr"] is not None
    for audience in ("public", "council"):
        report = risk_factors(con, settings, ["bars"], Filter(unit="reports"), audience=audience)
        assert report.meta["filter"]["themes"] and "domestic" not in report.meta["filter"]["themes"]
        rows = rows_of(report, "bars")
        assert all(r["count"] is None or r["count"] == 0 or r["count"] >= settings.k_min for r in rows)
        true = {r["band"]: r["count"] for r in rows_of(risk_factors(con, settings, ["bars"], Filter(unit="reports"),
                                                                    audience="analyst"), "bars")}  # fmt: skip
        for row in rows:  # shown counts are perturbed by their cell keys (at most 2), the same on every call
            assert row["count"] is None or abs(row["count"] - true[row["band"]]) <= 2
        assert rows == rows_of(risk_factors(con, settings, ["bars"], Filter(unit="reports"), audience=audience),
                               "bars")  # fmt: skip
        near_row = rows[0]
        assert near_row["count"] is None and near_row["suppressed"]
        for key in ("rr", "rr_low", "rr_high", "p", "q", "density_km2"):
            assert near_row[key] is None, key
        assert "hidden" in near_row["sentence"] and "3" not in near_row["sentence"]
        # the three hidden concerns cannot be worked out from the shown counts and the published total
        shown = sum(r["count"] for r in rows if r["count"] is not None)
        assert (
            report.meta["total"] is None
            or report.meta["total"] - shown == 0
            or report.meta["total"] - shown >= 5
        )
        # no band is compared with a hidden reference, and the correction counts shown tests only
        reference = rows[-1]
        if reference["count"] is None:
            assert all(r["rr"] is None and r["p"] is None for r in rows)
        assert report.meta["tests"] == sum(r["p"] is not None for r in rows)
    # an officer who names the sensitive theme gets it, counted on its 500 m snapping grid
    officer = risk_factors(con, settings, ["bars"], Filter(themes=("domestic",), unit="reports"), bands=(0, 500),
                           audience="officer")  # fmt: skip
    assert officer.meta["cell_m"] == 500 and rows_of(officer, "bars")[0]["count"] == 9


def test_dense_layers_keep_their_near_bands_and_say_so(tmp_path, con, settings):
    rng = np.random.default_rng(5)
    lamps = square_centres()[::2] + 10  # a lamp in every other square: nothing is more than 300 m away
    ingest(con, settings, tmp_path, layers={"streetlights": write_points_layer(tmp_path / "l.geojson", lamps)},
           concerns=in_squares(rng, square_centres(), "drugs"))  # fmt: skip
    report = risk_factors(
        con, settings, ["streetlights"], Filter(themes=("drugs",)), bands=BANDS, audience="officer"
    )
    rows = rows_of(report, "streetlights")
    assert [r["band"] for r in rows] == ["0-100 m", "more than 100 m"]
    assert any("streetlights: bands beyond 100 m left out" in w for w in report.meta["warnings"])


def test_bad_requests_say_what_is_wrong(planted):
    con, settings = planted
    with pytest.raises(
        RiskError, match="unknown layer.*licensed_premise; layers in the store: benches, licensed_premises"
    ):
        risk_factors(con, settings, ["licensed_premise"])
    with pytest.raises(RiskError, match="start at 0"):
        checked_bands((50, 100))
    with pytest.raises(RiskError, match="increase"):
        checked_bands((0, 200, 100))
    with pytest.raises(ValueError, match="unknown theme"):
        risk_factors(con, settings, ["benches"], Filter(themes=("drug",)))
    with pytest.raises(RiskError, match="no theme left"):
        risk_factors(con, settings, ["benches"], Filter(themes=("domestic",)), audience="public")


def test_band_edges_are_inclusive_at_the_top():
    assert band_index([0, 99.9, 100, 100.5, 300, 300.1, np.inf], BANDS).tolist() == [0, 0, 0, 1, 2, 3, 3]


def test_cli_risk_json_text_and_errors(tmp_path, con, settings):
    from click.testing import CliRunner

    from koban_geo.cli.main import cli

    rng = np.random.default_rng(21)
    premises = _features(rng, 12)
    ingest(con, settings, tmp_path, layers={"licensed_premises": write_points_layer(tmp_path / "p.geojson", premises)},
           concerns=planted_concerns(rng, premises))  # fmt: skip
    con.close()
    runner = CliRunner()
    base = ["--db", str(settings.db), "risk"]
    args = [
        *base,
        "--layer",
        "licensed_premises",
        "--theme",
        "drugs",
        "--unit",
        "reports",
        "--audience",
        "analyst",
    ]
    result = runner.invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    near = data["rows"][0]
    assert near["band"] == "0-100 m" and near["rr_low"] < FACTOR < near["rr_high"] and near["significant"]
    assert data["sentences"][0] == near["sentence"]
    text = runner.invoke(cli, [*args, "--bands", "0,100,200"], catch_exceptions=False)
    assert text.exit_code == 0
    assert "licensed_premises" in text.stdout and "more than 200 m" in text.stdout
    assert f"{near['rr']:.1f} times as dense within 100 m of licensed premises" in text.stdout
    public = json.loads(runner.invoke(cli, [*base, "--layer", "licensed_premises", "--json"]).stdout)
    assert public["meta"]["privacy"]["audience"] == "public"
    for argv, message in (
        (base, "name at least one --layer; layers in the store: licensed_premises"),
        ([*base, "--layer", "bars"], "unknown layer(s) bars"),
        ([*base, "--layer", "licensed_premises", "--bands", "0,a"], "--bands: give numbers"),
        ([*base, "--layer", "licensed_premises", "--bands", "100,200"], "must start at 0"),
    ):
        bad = runner.invoke(cli, argv)
        assert bad.exit_code == 2 and message in bad.stderr, (argv, bad.output)
