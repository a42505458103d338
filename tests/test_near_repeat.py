"""Near repeats (Knox test): the table matches a brute-force count, a planted near-repeat pattern is found in
its bands, no pattern gives no finding, snapping puts pairs where the docstring says, and the public tier
hides small pair counts. Stores are built through the real ingest."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from koban_geo.analysis.grid import Filter
from koban_geo.analysis.near_repeat import NearRepeatError, band_labels, checked_edges, knox_test, near_repeat
from koban_geo.cli.main import cli
from tests.planted import HEIGHT, WIDTH, X0, Y0, Concerns, ingest

BURGLARY = Filter(themes=("burglary",), unit="reports")


def brute_force(x, y, hours, d_edges, t_edges, keys=None):
    """The Knox table by looping over every pair, with the documented band rules (with record keys: each
    cell's key, the sum over its pairs of both events' keys mod 256, instead)."""
    nd, nt = len(d_edges) - 1, len(t_edges) - 1
    table = np.zeros((nd + 1, nt + 1), dtype=np.int64)
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            d = math.hypot(x[i] - x[j], y[i] - y[j])
            days = abs(int(hours[i]) - int(hours[j])) // 24
            row = next((k for k in range(nd) if d <= d_edges[k + 1] + 1e-6), nd)
            col = next((k for k in range(nt) if days <= t_edges[k + 1]), nt)
            table[row, col] += 1 if keys is None else int(keys[i]) + int(keys[j])
    return table if keys is None else table % 256


@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 8), st.integers(0, 24 * 40)), min_size=0, max_size=40
    ),
    st.sampled_from([(0, 100, 200, 300, 400), (0, 0, 100, 200), (0, 250)]),
    st.sampled_from([(0, 7, 14, 21, 28), (0, 0, 3), (0, 10)]),
)
def test_table_is_the_brute_force_count_and_permutations_keep_the_margins(events, d_edges, t_edges):
    x = np.array([(e[0] + 0.5) * 100 for e in events])
    y = np.array([(e[1] + 0.5) * 100 for e in events])
    hours = np.array([e[2] for e in events], dtype=np.int64)
    keys = (np.arange(len(events)) * 97 + 13) % 256
    result = knox_test(
        x, y, hours, distance_edges=d_edges, day_edges=t_edges, permutations=19, seed=3, keys=keys
    )
    assert result.observed.tolist() == brute_force(x, y, hours, d_edges, t_edges).tolist()
    assert result.cell_keys.tolist() == brute_force(x, y, hours, d_edges, t_edges, keys).tolist()
    # permuting times over places keeps the pairs per distance band and per time band
    np.testing.assert_allclose(result.expected.sum(axis=1), result.observed.sum(axis=1))
    np.testing.assert_allclose(result.expected.sum(axis=0), result.observed.sum(axis=0))
    assert ((result.p > 0) & (result.p <= 1)).all()


def test_same_seed_same_table_and_p_as_the_calculator_defines_it():
    rng = np.random.default_rng(0)
    x, y, t = rng.uniform(0, 2000, 300), rng.uniform(0, 2000, 300), rng.integers(0, 24 * 200, 300)
    a = knox_test(x, y, t, permutations=49, seed=12)
    b = knox_test(x, y, t, permutations=49, seed=12)
    assert a.expected.tolist() == b.expected.tolist() and a.at_least.tolist() == b.at_least.tolist()
    assert a.p.tolist() == ((a.at_least + 1) / 50).tolist()
    assert a.distance_labels() == ["0-100 m", "101-200 m", "201-300 m", "301-400 m", "more than 400 m"]
    assert a.day_labels() == ["0-7 days", "8-14 days", "15-21 days", "22-28 days", "more than 28 days"]
    assert band_labels((0, 0, 100), "m")[:2] == ["0 m (same square)", "1-100 m"]


def test_bad_bands_are_refused():
    with pytest.raises(NearRepeatError, match="start at 0"):
        checked_edges((100, 200), "distance")
    with pytest.raises(NearRepeatError, match="increase"):
        checked_edges((0, 200, 200), "distance")
    with pytest.raises(NearRepeatError, match="whole numbers"):
        checked_edges((0, 7.5), "time", integer=True)


def planted(rng: np.random.Generator, base: int = 1000, repeats: int = 500) -> Concerns:
    """Burglaries spread evenly over the box and a year, plus `repeats` near repeats: each within 200 m
    (real distance, before snapping) and 1 to 14 days after a different earlier burglary."""
    x = rng.uniform(X0 + 1, X0 + WIDTH - 1, base)
    y = rng.uniform(Y0 + 1, Y0 + HEIGHT - 1, base)
    hours = rng.integers(0, 365 * 24, base)
    source = rng.choice(base, repeats, replace=False)
    angle, distance = rng.uniform(0, 2 * math.pi, repeats), rng.uniform(0, 200, repeats)
    x2 = np.clip(x[source] + distance * np.cos(angle), X0 + 1, X0 + WIDTH - 1)
    y2 = np.clip(y[source] + distance * np.sin(angle), Y0 + 1, Y0 + HEIGHT - 1)
    later = hours[source] + rng.integers(24, 14 * 24 + 1, repeats)
    return Concerns(np.r_[x, x2], np.r_[y, y2], np.r_[hours, later], ["burglary"] * (base + repeats))


def cell(report, distance: str, time: str) -> dict:
    (row,) = [r for r in report.rows if r["distance"] == distance and r["time"] == time]
    return row


def test_planted_near_repeats_are_found_in_their_bands(tmp_path, con, settings):
    ingest(con, settings, tmp_path, concerns=planted(np.random.default_rng(2025)))
    report = near_repeat(con, settings, BURGLARY, audience="analyst", permutations=999, seed=1)
    assert report.meta["events"] == 1500
    for distance in ("0-100 m", "101-200 m"):
        for time in ("0-7 days", "8-14 days"):
            row = cell(report, distance, time)
            assert row["knox_ratio"] > 1.1 and row["significant"], row
    for time in ("0-7 days", "8-14 days"):
        row = cell(report, "0-100 m", time)
        assert row["knox_ratio"] > 1.4 and row["p"] <= 0.002 and row["significant_corrected"], row
    # the planted repeats stop at 14 days and about 340 m (200 m plus snapping): nothing later or farther
    for row in report.rows:
        if row["time"] in ("15-21 days", "22-28 days") or row["distance"] == "301-400 m":
            assert not row["significant_corrected"], row
    assert report.sentences[0].startswith("After a burglary report, further burglary reports within 100 m and "
                                          "within 7 days are")  # fmt: skip
    assert "100 m squares" in report.meta["snapping"]


def test_no_pattern_gives_no_finding(tmp_path, con, settings):
    """No space-time link: no cell significant after the correction. One fixed data set (any one data set
    has a small chance of a finding by design, that is what 5 % means: the next test checks the rate)."""
    ingest(con, settings, tmp_path, concerns=planted(np.random.default_rng(100), base=1500, repeats=0))
    report = near_repeat(con, settings, BURGLARY, audience="analyst", permutations=999, seed=1)
    assert report.meta["cells_tested"] == 16 and report.meta["expected_false_positives"] == 0.8
    assert not any(r["significant_corrected"] for r in report.rows)
    raw = [r for r in report.rows if r["significant"]]
    assert all("not significant once the cells tested are corrected for" in s for s in report.sentences[:-1])
    assert report.sentences[-1] == (
        f"{len(raw)} of 16 cells are significant at 5% (about 0.8 would be by chance alone)."
        if raw
        else "No near-repeat pattern: none of the 16 distance x time cells has significantly more pairs than "
        "chance at 5%."
    )


def test_false_positives_stay_at_the_nominal_rate_over_seeds():
    """Events with no space-time link, 20 seeds x 16 cells: about 5 % of cells have p <= 0.05 (the Monte
    Carlo p-value is exact, discreteness makes it a little conservative); after the correction almost none."""
    raw, any_corrected = 0, 0
    from scipy.stats import false_discovery_control

    for seed in range(20):
        rng = np.random.default_rng([seed, 17])
        x = (np.floor(rng.uniform(0, WIDTH, 1200) / 100) + 0.5) * 100  # snapped, as stored
        y = (np.floor(rng.uniform(0, HEIGHT, 1200) / 100) + 0.5) * 100
        result = knox_test(x, y, rng.integers(0, 365 * 24, 1200), permutations=99, seed=seed)
        p = result.p[:4, :4].ravel()
        raw += int((p <= 0.05).sum())
        any_corrected += bool((false_discovery_control(p, method="bh") <= 0.05).any())
    assert 0.01 <= raw / (20 * 16) <= 0.075
    assert any_corrected <= 2  # Benjamini-Hochberg at 5 %: about one data set in twenty, at most


def test_snapping_puts_same_square_pairs_at_0_m_and_neighbours_at_exactly_100_m(tmp_path, con, settings):
    sx, sy = X0 + 1000, Y0 + 1000  # the south-west corner of a square
    x = np.array([sx + 10, sx + 90, sx - 7, sx + 1000, sx - 60])  # the 4th is far away
    y = np.array([sy + 10, sy + 90, sy + 50, sy, sy - 60])
    # events 0 and 1: one square, 113 m apart really; 0 and 2: 17 m apart really, across the square's edge
    ingest(con, settings, tmp_path, concerns=Concerns(x, y, np.array([0, 24, 48, 72, 96]), ["burglary"] * 5))
    report = near_repeat(con, settings, BURGLARY, audience="analyst", distance_edges=(0, 0, 100, 200),
                         day_edges=(0, 7), permutations=9, seed=0)  # fmt: skip
    pairs = {r["distance"]: r["pairs"] for r in report.rows if r["time"] == "0-7 days"}
    # same square: (0, 1); edge neighbours, 100 m: (0, 2), (1, 2), (2, 4); diagonal, 141 m: (0, 4), (1, 4)
    assert pairs["0 m (same square)"] == 1
    assert pairs["1-100 m"] == 3  # exactly 100 m apart: in the 0-100 band, not beyond it
    assert pairs["101-200 m"] == 2
    assert "Warning" not in report.meta["snapping"]
    fine = near_repeat(con, settings, BURGLARY, audience="analyst", distance_edges=(0, 50, 100), day_edges=(0, 7),
                       permutations=9, seed=0)  # fmt: skip
    assert "Warning: the first band (50 m) is finer than the snapping (100 m)" in fine.meta["snapping"]


def test_groups_count_one_event_per_near_duplicate_group(tmp_path, con, settings):
    x = np.array([X0 + 510, X0 + 520, X0 + 530, X0 + 2500])
    y = np.array([Y0 + 510, Y0 + 520, Y0 + 530, Y0 + 2500])
    # one burglary reported three times within a day (one group), and one elsewhere
    ingest(con, settings, tmp_path, concerns=Concerns(x, y, np.array([0, 5, 20, 100]), ["burglary"] * 4))
    reports = near_repeat(con, settings, BURGLARY, audience="officer", permutations=9, seed=0)
    groups = near_repeat(con, settings, Filter(themes=("burglary",), unit="groups"), audience="officer",
                         permutations=9, seed=0)  # fmt: skip
    assert (reports.meta["events"], groups.meta["events"]) == (4, 2)
    assert cell(reports, "0-100 m", "0-7 days")["pairs"] == 3
    assert cell(groups, "0-100 m", "0-7 days")["pairs"] == 0


def test_public_tier_hides_small_pair_counts_and_what_is_computed_from_them(tmp_path, con, settings):
    ingest(con, settings, tmp_path, concerns=planted(np.random.default_rng(4), base=60, repeats=10))
    full = near_repeat(con, settings, BURGLARY, audience="analyst", permutations=99, seed=2)
    assert any(0 < r["pairs"] < settings.k_min for r in full.rows)
    for audience in ("public", "council"):
        report = near_repeat(con, settings, BURGLARY, audience=audience, permutations=99, seed=2)
        assert report.meta["events"] == 70
        for row, true in zip(report.rows, full.rows, strict=True):
            assert row["expected"] is None  # with it a band's true total would be known
            if row["pairs"] is None:
                assert row["knox_ratio"] is None and row["p"] is None
                assert row["q"] is None and not row["significant"]
            else:
                assert row["pairs"] == 0 or row["pairs"] >= settings.k_min
                assert abs(row["pairs"] - true["pairs"]) <= 2  # the cell key method's noise, at most D = 2
                if true["expected"]:  # the ratio is the published count's
                    assert row["knox_ratio"] == pytest.approx(row["pairs"] / true["expected"], abs=0.002)
        for distance in dict.fromkeys(r["distance"] for r in report.rows):  # complementary suppression
            band = [(r["pairs"], f["pairs"]) for r, f in zip(report.rows, full.rows, strict=True)
                    if r["distance"] == distance]  # fmt: skip
            hidden = sum(true for shown, true in band if shown is None)
            assert hidden == 0 or hidden >= settings.k_min
    # fewer events than k: nothing at all
    con.execute("DELETE FROM concerns WHERE id NOT IN (SELECT id FROM concerns ORDER BY id LIMIT 3)")
    report = near_repeat(con, settings, BURGLARY, audience="public", permutations=9, seed=0)
    assert report.meta["events"] is None and all(r["pairs"] is None for r in report.rows)


def test_sensitive_themes_are_not_public(con, settings):
    with pytest.raises(NearRepeatError, match="no theme left"):
        near_repeat(con, settings, Filter(themes=("domestic",)), audience="public")


def test_cli_near_repeat_json_and_table(tmp_path, con, settings):
    ingest(con, settings, tmp_path, concerns=planted(np.random.default_rng(8), base=400, repeats=150))
    con.close()
    runner = CliRunner()
    args = ["--db", str(settings.db), "near-repeat", "--theme", "burglary", "--unit", "reports", "--seed", "3",
            "--permutations", "199", "--audience", "analyst"]  # fmt: skip
    result = runner.invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["meta"]["events"] == 550 and data["meta"]["permutations"] == 199 and data["meta"]["seed"] == 3
    assert len(data["rows"]) == 25 and cell_of(data, "0-100 m", "0-7 days")["significant"]
    again = json.loads(runner.invoke(cli, [*args, "--json"], catch_exceptions=False).stdout)
    assert again == data  # the seed makes it reproducible
    text = runner.invoke(cli, args, catch_exceptions=False)
    assert text.exit_code == 0
    assert "Knox ratio" in text.stdout and "more than 400 m" in text.stdout and "100 m squares" in text.stdout
    bad = runner.invoke(
        cli, ["--db", str(settings.db), "near-repeat", "--theme", "burglary", "--day-bands", "0,x"]
    )
    assert bad.exit_code == 2 and "--day-bands" in bad.stderr
    unknown = runner.invoke(cli, ["--db", str(settings.db), "near-repeat", "--theme", "burglar"])
    assert unknown.exit_code == 2 and "unknown theme" in unknown.stderr


def cell_of(data: dict, distance: str, time: str) -> dict:
    (row,) = [r for r in data["rows"] if r["distance"] == distance and r["time"] == time]
    return row


def test_long_spans_use_wider_integers_and_count_the_same():
    """Over five years the hour gaps no longer fit 16 bits: the table must still be the brute-force one."""
    rng = np.random.default_rng(5)
    x, y = (np.floor(rng.uniform(0, 900, (2, 120)) / 100) + 0.5) * 100
    hours = rng.integers(0, 5 * 365 * 24, 120)
    hours[:10] = hours[10:20] + rng.integers(0, 48, 10)  # some close in time too
    result = knox_test(x, y, hours, permutations=5, seed=0)
    assert (
        result.observed.tolist()
        == brute_force(x, y, hours, (0, 100, 200, 300, 400), (0, 7, 14, 21, 28)).tolist()
    )


def test_an_empty_selection_says_so(con, settings):
    report = near_repeat(con, settings, BURGLARY, audience="analyst", permutations=9, seed=0)
    assert report.meta["events"] == 0 and all(r["pairs"] == 0 for r in report.rows)
    assert report.sentences == ["Too few burglary reports (0) for a near-repeat table: no pairs to compare."]
    public = near_repeat(con, settings, BURGLARY, audience="public", permutations=9, seed=0)
    assert public.sentences == ["Too few burglary reports to show (fewer than 5)."]
