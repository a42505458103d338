"""CSV dialect detection and the number/date parsing macros, with property-based tests (hypothesis)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from koban_geo.ingest.dialect import (
    detect_decimal_comma,
    detect_delimiter,
    map_headers,
    normalise_header,
)

_cell = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters='\r\n"\x00', exclude_categories=("Cs", "Cc")),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    n_cols=st.integers(min_value=2, max_value=8),
    rows=st.lists(st.lists(_cell, min_size=8, max_size=8), min_size=1, max_size=20),
)
def test_delimiter_detection_recovers_the_writer_delimiter(delimiter, n_cols, rows):
    """Whatever the cells hold (other delimiters, quotes, accents), csv.writer's delimiter is found."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow([f"col{i}" for i in range(n_cols)])
    for row in rows:
        writer.writerow(row[:n_cols])
    assert detect_delimiter(buffer.getvalue()) == delimiter


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.floats(min_value=-180, max_value=180, allow_nan=False).map(lambda v: round(v, 5)),
        min_size=1,
        max_size=30,
    )
)
def test_decimal_comma_detection(values):
    written = [f"{v:.5f}" for v in values]
    assert detect_decimal_comma(written) is False
    assert detect_decimal_comma([w.replace(".", ",") for w in written]) is True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), decimals=st.integers(0, 6))
def test_numbers_parse_back_in_both_notations(mem, value, decimals):
    text = f"{value:.{decimals}f}"
    expected = float(text)
    point, comma = mem.execute(
        "SELECT koban_num(?, false), koban_num(?, true)", [text, text.replace(".", ",")]
    ).fetchone()
    assert point == expected and comma == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.integers(0, 10**9))
def test_grouped_thousands_with_decimal_comma(mem, value):
    grouped = f"{value:,}".replace(",", ".") + ",5"
    spaced = f"{value:,}".replace(",", " ")
    assert mem.execute("SELECT koban_num(?, true), koban_num(?, true)", [grouped, spaced]).fetchone() == (
        value + 0.5,
        float(value),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="abcxyz:/-_ ", min_size=1, max_size=10))
def test_words_are_not_numbers(mem, text):
    assert mem.execute("SELECT koban_num(?, false), koban_num(?, true)", [text, text]).fetchone() == (
        None,
        None,
    )


_moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
_FORMS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M", "%d.%m.%Y klo %H.%M", "%Y/%m/%d %H:%M",
]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=_moments, form=st.sampled_from(_FORMS))
def test_dates_parse_in_iso_and_day_first_forms(mem, moment, form):
    text = moment.strftime(form)
    parsed = mem.execute("SELECT koban_ts(?, 'UTC')", [text]).fetchone()[0]
    expected = moment if "%S" in form else moment.replace(second=0)
    assert parsed == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=_moments, offset_minutes=st.sampled_from([-480, -60, 0, 60, 120, 330]))
def test_offsets_convert_to_the_target_zone(mem, moment, offset_minutes):
    sign = "+" if offset_minutes >= 0 else "-"
    hh, mm = divmod(abs(offset_minutes), 60)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{hh:02d}:{mm:02d}"
    parsed = mem.execute("SELECT koban_ts(?, 'UTC')", [text]).fetchone()[0]
    assert parsed == moment - timedelta(minutes=offset_minutes)


def test_impossible_dates_are_rejected(mem):
    for text in ["2025-02-30", "31/04/2025", "13.13.2025", "2025-13-01", "yesterday", "1/1", ""]:
        assert mem.execute("SELECT koban_ts(?, 'UTC')", [text]).fetchone()[0] is None, text


def test_header_normalisation_and_reporter_columns():
    assert normalise_header("Szerokość geograficzna") == "szerokosc geograficzna"
    assert normalise_header("  Catégorie ") == "categorie"
    mapped = map_headers(["Nimi", "Leveysaste", "Pituusaste", "Ilmoitettu", "Sähköposti", "Extra"])
    assert mapped.columns == {"lat": 1, "lon": 2, "reported_at": 3}
    assert mapped.dropped == ("Nimi", "Sähköposti") and mapped.unused == ("Extra",)


def test_koban_ts_tries_exactly_the_listed_forms(mem):
    import re

    from koban_geo.store.resources import load_sql

    macros = load_sql("macros")
    body = macros.split("CREATE OR REPLACE TEMP MACRO koban_ts(s, tz)", 1)[1].split("timezone(", 1)[0]
    listed = [r[0] for r in mem.execute("SELECT unnest(koban_ts_formats())").fetchall()]
    assert re.findall(r"'(%[^']*)'", body) == listed
