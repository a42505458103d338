"""Audience tiers: what each tier may see, and that hidden counts cannot be recovered from totals."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from koban_geo.privacy.audience import Audience, Policy, PrivacyError, release
from koban_geo.store.settings import Settings

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


def area_theme(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    return pd.DataFrame([{"area_code": a, "theme": t, "count": n} for (a, t), n in counts.items()])


def test_k_is_never_below_three():
    with pytest.raises(ValidationError):
        Settings(k_min=2, _env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("audience", ["public", "council"])
def test_public_tiers_refuse_text_records_and_points(audience):
    with pytest.raises(PrivacyError, match="free text"):
        release(pd.DataFrame({"theme": ["noise"], "count": [9], "description": ["loud"]}), audience, SETTINGS)
    with pytest.raises(PrivacyError, match="records"):
        release(pd.DataFrame({"theme": ["noise"], "count": [9], "id": ["a1"]}), audience, SETTINGS)
    with pytest.raises(PrivacyError, match="points"):
        release(
            pd.DataFrame({"theme": ["noise"], "count": [9], "geometry": [shapely.Point(1, 2)]}),
            audience,
            SETTINGS,
        )
    with pytest.raises(PrivacyError, match="counts only"):
        release(pd.DataFrame({"theme": ["noise"]}), audience, SETTINGS)


def test_public_drops_sensitive_themes_before_totals():
    table = area_theme({("A", "noise"): 10, ("A", "domestic"): 7, ("A", "litter"): 6})
    out = release(table, Audience.PUBLIC, SETTINGS, groups=["area_code"])
    assert set(out.frame["theme"]) == {"noise", "litter"}
    assert out.totals["area_code"]["count"].tolist() == [16]  # not 23: the sensitive 7 is not in any total


def test_a_table_without_themes_must_say_what_it_counts():
    table = pd.DataFrame({"area_code": ["A"], "count": [12]})
    with pytest.raises(PrivacyError, match="which themes"):
        release(table, "public", SETTINGS)
    with pytest.raises(PrivacyError):
        release(table, "public", SETTINGS, themes_counted=["noise", "hate"])
    assert release(table, "public", SETTINGS, theme=None, themes_counted=["noise"]).frame[
        "count"
    ].tolist() == [12]


def test_single_small_cell_gets_a_complementary_partner():
    table = area_theme({("A", "noise"): 20, ("A", "litter"): 9, ("A", "drugs"): 2})
    out = release(table, "public", SETTINGS, groups=["area_code"])
    shown = dict(zip(out.frame["theme"], out.frame["count"], strict=True))
    assert shown["drugs"] is pd.NA and shown["litter"] is pd.NA and shown["noise"] == 20
    assert out.totals["area_code"]["count"].tolist() == [31] and out.suppressed == 2


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
    table = area_theme(counts)
    out = release(table, audience, Settings(k_min=k, _env_file=None), groups=["area_code"])  # type: ignore[call-arg]
    frame = out.frame
    assert not frame["theme"].isin(["hate", "domestic"]).any()
    shown = frame["count"].dropna()
    assert ((shown == 0) | (shown >= k)).all()  # nothing small is ever shown
    true = table[~table["theme"].isin(["hate", "domestic"])].set_index(["area_code", "theme"])["count"]
    totals = out.totals["area_code"].set_index("area_code")["count"]
    for area, group in frame.groupby("area_code"):
        total = totals[area]
        if pd.isna(total):
            continue
        recovered = int(total) - int(group["count"].dropna().sum())
        assert recovered == 0 or recovered >= k  # the subtraction attack learns nothing under k
        hidden = group[group["suppressed"]]
        assert recovered == int(true[[(area, t) for t in hidden["theme"]]].sum())
    grand = out.totals["all"]["count"].iloc[0]
    if not pd.isna(grand):
        left = int(grand) - int(shown.sum())
        assert left == 0 or left >= k
