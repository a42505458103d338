"""The demo data set: deterministic, small, real geography, and the planted patterns really there."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from koban_geo.ops.demo import (
    CONCERN_HEADER,
    MONTHS,
    PATTERNS,
    POLICEUK_HEADER,
    REFERENCE_DAY,
    DemoInputs,
    demo_dir,
    demo_months,
    write_demo_inputs,
)
from koban_geo.ops.demo_text import fi_adessive
from koban_geo.store.resources import data_dir
from koban_geo.store.taxonomy import themes

POLICEUK_TYPES = {
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
    "Other crime",
}
METRES_PER_DEG_LAT = 111_000.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoInputs:
    return write_demo_inputs(tmp_path_factory.mktemp("demo"), seed=7, last_day=REFERENCE_DAY)


@pytest.fixture(scope="module")
def concerns(demo: DemoInputs) -> list[dict[str, str]]:
    with demo.concerns.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


@pytest.fixture(scope="module")
def crimes(demo: DemoInputs) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in demo.crime:
        with path.open(encoding="utf-8", newline="") as fh:
            rows += list(csv.DictReader(fh))
    return rows


@pytest.fixture(scope="module")
def areas(demo: DemoInputs) -> list[dict]:
    return json.loads(demo.areas.read_text(encoding="utf-8"))["features"]


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _area_of(areas: list[dict], lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    names = np.full(len(lon), "", dtype=object)
    for feature in areas:
        hit = (names == "") & shapely.intersects_xy(shape(feature["geometry"]), lon, lat)
        names[hit] = feature["properties"]["name"]
    return names


def _monthly(rows: list[dict[str, str]], where: np.ndarray, mask: np.ndarray, name: str) -> list[int]:
    month = np.array([f"{r['ilmoitettu'][6:10]}-{r['ilmoitettu'][3:5]}" for r in rows])
    return [int(((month == m) & (where == name) & mask).sum()) for m in MONTHS]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(demo: DemoInputs, tmp_path: Path) -> None:
    again = write_demo_inputs(tmp_path / "again", seed=7, last_day=REFERENCE_DAY)
    first, second = _tree(demo.root), _tree(again.root)
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_another_seed_gives_other_data(demo: DemoInputs, tmp_path: Path) -> None:
    other = write_demo_inputs(tmp_path / "other", seed=8, last_day=REFERENCE_DAY)
    assert other.concerns.read_bytes() != demo.concerns.read_bytes()
    assert other.crime[0].read_bytes() != demo.crime[0].read_bytes()
    assert other.areas.read_bytes() == demo.areas.read_bytes()  # the geography is real, not drawn


def test_inputs_are_the_files_a_user_would_ingest(demo: DemoInputs) -> None:
    assert all(path.is_file() and path.is_relative_to(demo.root) for path in demo.files())
    assert set(demo.layers) == {"licensed_premises", "streetlights", "streets"}
    assert len(demo.crime) == 18


def test_concerns_are_a_finnish_semicolon_csv(demo: DemoInputs, concerns: list[dict[str, str]]) -> None:
    raw = demo.concerns.read_bytes().decode("utf-8")  # CRLF, as a spreadsheet export writes it
    assert raw.split("\r\n", 1)[0] == ";".join(CONCERN_HEADER)
    assert 5_000 <= len(concerns) <= 20_000
    assert len({r["tunnus"] for r in concerns}) == len(concerns)
    for row in concerns[:200]:
        assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", row["ilmoitettu"])
        assert re.fullmatch(r"60,\d{6}", row["leveysaste"]) and re.fullmatch(r"24,\d{6}", row["pituusaste"])


def test_concerns_span_eighteen_months_ending_october_2026(concerns: list[dict[str, str]]) -> None:
    months = sorted({f"{r['ilmoitettu'][6:10]}-{r['ilmoitettu'][3:5]}" for r in concerns})
    assert months == list(MONTHS)
    assert (MONTHS[0], MONTHS[-1]) == ("2025-05", "2026-10")


def test_themes_are_finnish_labels_some_left_empty(concerns: list[dict[str, str]]) -> None:
    labels = {t.labels["fi"]: t.code for t in themes()}
    counts = Counter(r["aihe"] for r in concerns)
    assert set(counts) - {""} <= set(labels)
    assert 0.03 <= counts[""] / len(concerns) <= 0.07
    sensitive = counts["Lähisuhdeväkivalta"] + counts["Viharikos"]
    assert 10 <= sensitive <= 0.01 * len(concerns)


def test_descriptions_mix_languages_and_some_personal_data(concerns: list[dict[str, str]]) -> None:
    texts = [r["kuvaus"] for r in concerns]
    swedish = sum(bool(re.search(r"\b(på|är|och|Tack)\b", t)) for t in texts) / len(texts)
    english = sum(bool(re.search(r"\b(the|my|Thanks|people|again)\b", t)) for t in texts) / len(texts)
    assert 0.04 <= swedish <= 0.2 and 0.04 <= english <= 0.2
    personal = re.compile(
        r"\d{3} \d{3} ?\d{3,4}|\w+\.\w+@example\.\w+|\b[A-Z]{3}-\d{1,3}\b|\b\d{1,2} B \d{1,2}\b"
    )
    share = sum(bool(personal.search(t)) for t in texts) / len(texts)
    assert 0.01 <= share <= 0.04


def test_neighbourhoods_are_valid_real_polygons(areas: list[dict]) -> None:
    document = json.loads((demo_dir() / "neighbourhoods.geojson").read_text(encoding="utf-8"))
    assert "crs" not in document
    assert 10 <= len(areas) <= 30
    polygons = [shape(f["geometry"]) for f in areas]
    assert all(p.geom_type == "Polygon" and p.is_valid for p in polygons)
    assert shapely.coverage_is_valid(np.array(polygons))  # no overlaps
    codes = [f["properties"]["code"] for f in areas]
    assert len(set(codes)) == len(codes) and all(re.fullmatch(r"HEL-\d{3}", c) for c in codes)
    lon, lat = np.concatenate([np.asarray(p.exterior.coords) for p in polygons]).T
    assert (lon > 24.9).all() and (lon < 25.0).all() and (lat > 60.1).all() and (lat < 60.2).all()
    assert np.allclose(lon, np.round(lon, 6), rtol=0, atol=1e-12)


def test_every_concern_lies_inside_the_neighbourhoods(
    areas: list[dict], concerns: list[dict[str, str]]
) -> None:
    union = shapely.union_all([shape(f["geometry"]) for f in areas])
    lon = np.array([_number(r["pituusaste"]) for r in concerns])
    lat = np.array([_number(r["leveysaste"]) for r in concerns])
    outside = ~shapely.intersects_xy(union, lon, lat)
    if outside.any():
        points = shapely.points(lon[outside], lat[outside])
        assert shapely.distance(union, points).max() * METRES_PER_DEG_LAT < 5


def test_crime_files_are_policeuk_street_csvs(demo: DemoInputs, areas: list[dict]) -> None:
    codes = {f["properties"]["code"] for f in areas}
    for path, month in zip(demo.crime, MONTHS, strict=True):
        assert path.relative_to(demo.root).as_posix() == f"crime/{month}/{month}-helsinki-street.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            assert tuple(next(reader)) == POLICEUK_HEADER
            rows = [dict(zip(POLICEUK_HEADER, row, strict=True)) for row in reader]
        assert 300 <= len(rows) <= 800
        for row in rows:
            assert row["Month"] == month and row["Crime type"] in POLICEUK_TYPES
            assert row["LSOA code"] in codes and row["Location"].startswith("On or near ")
            if row["Crime type"] == "Anti-social behaviour":
                assert row["Crime ID"] == "" and row["Last outcome category"] == ""
            else:
                assert re.fullmatch(r"[0-9a-f]{64}", row["Crime ID"])


def test_planted_hotspots_are_there(areas: list[dict], concerns: list[dict[str, str]]) -> None:
    labels = {t.code: t.labels["fi"] for t in themes()}
    lon = np.array([_number(r["pituusaste"]) for r in concerns])
    lat = np.array([_number(r["leveysaste"]) for r in concerns])
    where = _area_of(areas, lon, lat)
    theme = np.array([r["aihe"] for r in concerns])
    patterns = {p.kind: p for p in PATTERNS}

    def series(kind: str) -> np.ndarray:
        pattern = patterns[kind]
        mask = np.isin(theme, [labels[code] for code in pattern.themes])
        return np.array(_monthly(concerns, where, mask, pattern.area))

    persistent = series("persistent")
    assert persistent.min() >= 15
    emerging = series("emerging")
    assert emerging[-1] > emerging[-2] > emerging[-3] > emerging[-4]
    assert emerging[-3:].mean() > 4 * emerging[:13].mean()
    fading = series("fading")
    assert fading[:8].mean() > 4 * fading[-6:].mean()


def test_recorded_crime_partly_disagrees_with_concerns(
    areas: list[dict], concerns: list[dict[str, str]], crimes: list[dict[str, str]]
) -> None:
    lon = np.array([_number(r["pituusaste"]) for r in concerns])
    lat = np.array([_number(r["leveysaste"]) for r in concerns])
    concern_count = Counter(_area_of(areas, lon, lat))
    crime_count = Counter(r["LSOA name"] for r in crimes)
    perceived = next(p.area for p in PATTERNS if p.kind == "perception_gap")
    recorded = next(p.area for p in PATTERNS if p.kind == "recorded_gap")
    assert concern_count[perceived] > 5 * crime_count[perceived]
    assert crime_count[recorded] > 10 * concern_count[recorded]


def test_area_stats_cover_every_neighbourhood(demo: DemoInputs, areas: list[dict]) -> None:
    with demo.stats.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert list(rows[0]) == ["area_code", "period", "indicator", "value"]
    pairs = {(r["area_code"], r["indicator"]) for r in rows}
    assert pairs == {(f["properties"]["code"], i) for f in areas for i in ("population", "households")}


def test_point_layers_have_stable_osm_ids() -> None:
    for name in ("licensed_premises.geojson", "streetlights.geojson"):
        features = json.loads((demo_dir() / name).read_text(encoding="utf-8"))["features"]
        ids = [f["properties"]["id"] for f in features]
        assert len(features) > 100 and len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"(node|way|relation)/\d+", i) for i in ids)
        assert {f["geometry"]["type"] for f in features} == {"Point"}


@pytest.mark.parametrize(
    ("street", "adessive"),
    [
        ("Unioninkatu", "Unioninkadulla"),
        ("Mannerheimintie", "Mannerheimintiellä"),
        ("Pieni Roobertinkatu", "Pienellä Roobertinkadulla"),
        ("Alvar Aallon katu", "Alvar Aallon kadulla"),
        ("Siltavuorenpenger", "Siltavuorenpenkereellä"),
        ("Bulevardi", "Bulevardilla"),
    ],
)
def test_street_names_in_finnish_adessive(street: str, adessive: str) -> None:
    assert fi_adessive(street) == adessive


def test_data_folder_stays_small() -> None:
    def size(folder: Path) -> int:
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

    assert size(data_dir()) < 5 * 1024 * 1024
    assert size(demo_dir()) < 2 * 1024 * 1024


def test_the_demo_ends_on_the_day_it_is_built(tmp_path: Path) -> None:
    """Built on 7 December, the data run from July of the year before to that day: "the last 4 weeks" are
    full, nothing lies after the build day, the part-month is not crowded, and the same day gives the same
    files (a build on another day gives other ones)."""
    built = date(2026, 12, 7)
    demo = write_demo_inputs(tmp_path / "a", seed=7, last_day=built)
    assert [p.parent.name for p in demo.crime] == list(demo_months(built))
    assert demo_months(built)[0] == "2025-07" and demo_months(built)[-1] == "2026-12"
    with demo.concerns.open(encoding="utf-8", newline="") as fh:
        days = [datetime.strptime(r["ilmoitettu"], "%d.%m.%Y %H:%M").date()
                for r in csv.DictReader(fh, delimiter=";")]  # fmt: skip
    assert max(days) == built or built - max(days) <= timedelta(days=1)
    last_four_weeks = sum(built - timedelta(days=28) < d <= built for d in days)
    assert last_four_weeks >= 300, last_four_weeks
    per_day = Counter(d for d in days if d.month == 12 and d.year == 2026)
    november = Counter(d for d in days if d.month == 11 and d.year == 2026)
    assert sum(per_day.values()) / 7 < 2 * sum(november.values()) / 30  # scaled to the 7 days, not a crowd
    again = write_demo_inputs(tmp_path / "b", seed=7, last_day=built)
    assert again.concerns.read_bytes() == demo.concerns.read_bytes()
    other_day = write_demo_inputs(tmp_path / "c", seed=7, last_day=date(2026, 12, 8))
    assert other_day.concerns.read_bytes() != demo.concerns.read_bytes()


def test_the_default_last_day_is_today(tmp_path: Path) -> None:
    assert write_demo_inputs(tmp_path, seed=7).crime[-1].parent.name == date.today().strftime("%Y-%m")
