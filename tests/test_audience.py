"""Audience tiers: what each tier may see, and that hidden counts cannot be recovered from totals."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from koban_geo.analysis.grid import Filter
from koban_geo.privacy.audience import Audience, Policy, PrivacyError, audience_filter, release
from koban_geo.store.settings import Settings, SettingsError
from koban_geo.store.taxonomy import sensitive_codes, theme_codes

SETTINGS = Settings()


ZERO_NOISE = 128  # a cell key whose noise is 0 for every count (koban_geo.privacy.cellkey.BASE)


def area_theme(
    counts: dict[tuple[str, str], int], keys: dict[tuple[str, str], int] | None = None
) -> pd.DataFrame:
    """An area x theme table with cell keys: the given ones, else a fixed key per cell."""
    return pd.DataFrame(
        [{"area_code": a, "theme": t, "count": n,
          "ckey": (keys or {}).get((a, t), zlib.crc32(f"{a}/{t}".encode()) % 256)}
         for (a, t), n in counts.items()]
    )  # fmt: skip


def test_k_is_never_below_three():
    with pytest.raises(SettingsError, match=r"KOBAN_K_MIN must be at least 3 \(got 2\)"):
        Settings(k_min=2)


@pytest.mark.parametrize("audience", ["public", "council"])
def test_public_tiers_refuse_text_records_and_points(audience):
    with pytest.raises(PrivacyError, match="free text"):
        release(
            pd.DataFrame({"theme": ["noise"], "count": [9], "ckey": [1], "description": ["loud"]}),
            audience,
            SETTINGS,
        )
    with pytest.raises(PrivacyError, match="records"):
        release(
            pd.DataFrame({"theme": ["noise"], "count": [9], "ckey": [1], "id": ["a1"]}), audience, SETTINGS
        )
    with pytest.raises(PrivacyError, match="points"):
        release(
            pd.DataFrame({"theme": ["noise"], "count": [9], "ckey": [1], "geometry": [shapely.Point(1, 2)]}),
            audience,
            SETTINGS,
        )
    with pytest.raises(PrivacyError, match="counts only"):
        release(pd.DataFrame({"theme": ["noise"]}), audience, SETTINGS)


@pytest.mark.parametrize("audience", ["public", "council"])
def test_public_tiers_refuse_counts_without_cell_keys(audience):
    """No public count can skip the perturbation: a table without its cell keys is refused."""
    with pytest.raises(PrivacyError, match="cell keys"):
        release(pd.DataFrame({"theme": ["noise"], "count": [9]}), audience, SETTINGS)
    with pytest.raises(PrivacyError, match="cell keys are 0..255"):
        release(pd.DataFrame({"theme": ["noise"], "count": [9], "ckey": [None]}), audience, SETTINGS)
    out = release(pd.DataFrame({"theme": ["noise"], "count": [9], "ckey": [0]}), audience, SETTINGS)
    assert "ckey" not in out.frame  # the key never leaves: with it anyone could undo the noise
    assert out.frame["count"].tolist() == [7]  # 9 with cell key 0: the first 13 keys of 256 give -2
    assert release(pd.DataFrame({"theme": ["noise"], "count": [9]}), "officer", SETTINGS).frame[
        "count"
    ].tolist() == [9]


def test_the_same_cell_shows_the_same_value_in_every_table():
    one = release(area_theme({("A", "noise"): 12, ("B", "noise"): 40}), "public", SETTINGS).frame
    other = release(area_theme({("A", "noise"): 12, ("C", "litter"): 8}), "public", SETTINGS).frame
    assert one["count"].iloc[0] == other["count"].iloc[0]


def test_public_drops_sensitive_themes_before_totals():
    keys = {
        ("A", "noise"): 100,
        ("A", "litter"): 28,
        ("A", "domestic"): 5,
    }  # noise + litter: key 128, noise 0
    table = area_theme({("A", "noise"): 10, ("A", "domestic"): 7, ("A", "litter"): 6}, keys)
    out = release(table, Audience.PUBLIC, SETTINGS, groups=["area_code"])
    assert set(out.frame["theme"]) == {"noise", "litter"}
    assert out.totals["area_code"]["count"].tolist() == [16]  # not 23: the sensitive 7 is not in any total


def test_a_table_without_themes_must_say_what_it_counts():
    table = pd.DataFrame({"area_code": ["A"], "count": [12], "ckey": [ZERO_NOISE]})
    with pytest.raises(PrivacyError, match="which themes"):
        release(table, "public", SETTINGS)
    with pytest.raises(PrivacyError):
        release(table, "public", SETTINGS, themes_counted=["noise", "hate"])
    assert release(table, "public", SETTINGS, theme=None, themes_counted=["noise"]).frame[
        "count"
    ].tolist() == [12]


def test_single_small_cell_gets_a_complementary_partner():
    keys = {
        ("A", "noise"): ZERO_NOISE,
        ("A", "litter"): 0,
        ("A", "drugs"): 0,
    }  # the area's total: key 128 too
    table = area_theme({("A", "noise"): 20, ("A", "litter"): 9, ("A", "drugs"): 2}, keys)
    out = release(table, "public", SETTINGS, groups=["area_code"])
    shown = dict(zip(out.frame["theme"], out.frame["count"], strict=True))
    assert shown["drugs"] is pd.NA and shown["litter"] is pd.NA and shown["noise"] == 20
    assert out.totals["area_code"]["count"].tolist() == [31] and out.suppressed == 2


def test_zero_and_missing_counts_are_published_as_zero_not_hidden():
    """(From mutation testing.) A zero cell says nothing about anyone: it is shown as 0, and a missing count
    (a cell with no concerns after an outer join) is a zero, neither hidden nor a reason to hide others; a count
    of exactly k is shown."""
    k = Policy.for_audience("public", SETTINGS).k
    cells = {("A", "noise"): 20, ("A", "litter"): 0, ("B", "noise"): 30, ("C", "noise"): 0, ("D", "noise"): k}
    table = area_theme(cells, dict.fromkeys(cells, ZERO_NOISE))
    table["count"] = table["count"].astype(float)
    table.loc[table["area_code"] == "C", "count"] = np.nan
    out = release(table, "public", SETTINGS, groups=["area_code"])
    shown = {
        (a, t): n
        for a, t, n in zip(out.frame["area_code"], out.frame["theme"], out.frame["count"], strict=True)
    }
    assert shown == {
        ("A", "noise"): 20,
        ("A", "litter"): 0,
        ("B", "noise"): 30,
        ("C", "noise"): 0,
        ("D", "noise"): k,
    }
    assert out.suppressed == 0 and not out.frame["suppressed"].any()


def test_audience_filter_narrows_the_themes_a_tier_may_count():
    public, officer = Policy.for_audience("public", SETTINGS), Policy.for_audience("officer", SETTINGS)
    every_open = tuple(c for c in theme_codes() if c not in sensitive_codes())
    assert audience_filter(Filter(), public).themes == every_open  # none named: the non-sensitive ones
    assert audience_filter(Filter(), officer).themes == every_open  # officers too, unless they name one
    named = Filter(themes=("noise", "domestic"), unit="reports")
    assert audience_filter(named, officer) == Filter(themes=("noise", "domestic"), unit="reports")
    assert audience_filter(named, public) == Filter(themes=("noise",), unit="reports")  # the rest is kept
    assert audience_filter(Filter(themes=("hate",)), public).themes == ()
    with pytest.raises(ValueError, match="unknown theme code.s.: nosie, xx"):
        audience_filter(Filter(themes=("xx", "nosie", "noise")), officer)


def test_officer_sees_flagged_sensitive_rows_and_text():
    table = pd.DataFrame(
        {"theme": ["domestic", "noise"], "description": ["x", "y"], "geometry": [shapely.Point(0, 0)] * 2}
    )
    out = release(table, "officer", SETTINGS)
    assert out.frame["sensitive"].tolist() == [True, False] and "description" in out.frame


def test_precision_note_in_every_language():
    policy = Policy.for_audience("public", SETTINGS)
    for lang in ("en", "nl", "fr", "pl", "fi", "es", "pt"):
        note = policy.precision_note(lang)
        assert "100" in note and "5" in note
    assert "500" in Policy.for_audience("officer", SETTINGS).precision_note("nl")
    # (from mutation testing) each language its own text, English for any other, and the tiers differ
    notes = {lang: policy.precision_note(lang) for lang in ("en", "nl", "fr", "pl", "fi", "es", "pt")}
    assert len(set(notes.values())) == len(notes)
    assert policy.precision_note("de") == notes["en"]
    assert policy.precision_note() == notes["en"]  # English by default
    assert Policy.for_audience("officer", SETTINGS).precision_note("en") != notes["en"]


_tables = st.dictionaries(
    keys=st.tuples(
        st.sampled_from("ABCDE"), st.sampled_from(["noise", "litter", "drugs", "asb", "hate", "domestic"])
    ),
    values=st.integers(0, 30),
    min_size=1,
    max_size=30,
)


@given(counts=_tables, k=st.integers(3, 10), audience=st.sampled_from(["public", "council"]))
def test_no_hidden_count_is_recoverable_by_subtraction(counts, k, audience):
    """Complementary suppression on the true counts (what is hidden in a published group sums to 0 or at least
    k), and the cell key noise on what is shown: within 2 of the truth, never a small count, zeros stay zero."""
    table = area_theme(counts)
    out = release(table, audience, Settings(k_min=k), groups=["area_code"])
    frame = out.frame
    assert not frame["theme"].isin(["hate", "domestic"]).any()
    true = table[~table["theme"].isin(["hate", "domestic"])].reset_index(drop=True)
    assert frame[["area_code", "theme"]].equals(true[["area_code", "theme"]])
    n = true["count"].to_numpy()
    hidden = frame["suppressed"].to_numpy()
    assert (hidden >= ((n > 0) & (n < k))).all()  # every small count is hidden
    shown = frame["count"].to_numpy(dtype=object)[~hidden].astype(np.int64)
    assert (np.abs(shown - n[~hidden]) <= 2).all() and ((shown == 0) == (n[~hidden] == 0)).all()
    assert ((shown == 0) | (shown >= k)).all()  # nothing small is ever shown
    for _, group in true.assign(hidden=hidden).groupby("area_code"):
        lost, total = int(group.loc[group["hidden"], "count"].sum()), int(group["count"].sum())
        assert lost == 0 or lost >= k or total < k  # subtraction within one table learns nothing under k
    lost = int(n[hidden].sum())
    assert lost == 0 or lost >= k or n.sum() < k
    totals = out.totals["area_code"].set_index("area_code")["count"]
    for area, group in true.groupby("area_code"):
        total, value = int(group["count"].sum()), totals[area]
        assert pd.isna(value) == (0 < total < k)
        if not pd.isna(value):
            assert abs(int(value) - total) <= 2 and (int(value) >= k or total == 0)
