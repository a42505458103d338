"""The demo data set: real central-Helsinki streets and places, seeded synthetic concerns and recorded crime.

`write_demo_inputs` writes the files a real user would feed to `koban-geo ingest` (Finnish semicolon CSV,
police.uk street-level CSVs, GeoJSON areas and layers, an area-statistics CSV); `build_demo` ingests them.
The same seed gives byte-identical files. Geography © OpenStreetMap contributors (ODbL), see data/README.md;
every report, crime and statistic is made up.

    >>> from pathlib import Path; import tempfile
    >>> inputs = write_demo_inputs(Path(tempfile.mkdtemp()))
    >>> inputs.concerns.name
    'concerns.csv'
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from koban_geo.ops.demo_geo import (
    LAYER_FILES,
    Geo,
    around,
    demo_dir,
    geography,
    jitter,
    kernel,
    pick,
    to_lonlat,
)
from koban_geo.ops.demo_text import Writer
from koban_geo.store.taxonomy import themes

N_MONTHS = 18  # the demo covers 18 calendar months, the last one ending on its build day


def demo_months(last_day: date) -> tuple[str, ...]:
    """The demo's months ('YYYY-MM'), oldest first, the last one holding `last_day`."""
    end = last_day.year * 12 + last_day.month - 1
    return tuple(f"{m // 12}-{m % 12 + 1:02d}" for m in range(end - N_MONTHS + 1, end + 1))


# The build day the tests and benchmarks pin, so their known answers do not move with the calendar:
# a demo built with last_day=REFERENCE_DAY is the same store on any day (2025-05 .. 2026-10).
REFERENCE_DAY = date(2026, 10, 31)
MONTHS = demo_months(REFERENCE_DAY)
CONCERN_HEADER = ("tunnus", "ilmoitettu", "leveysaste", "pituusaste", "aihe", "kuvaus")
# fmt: off
POLICEUK_HEADER = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
)
# fmt: on
FORCE = "Helsingin poliisilaitos"
STATS_PERIOD = "2025"


@dataclass(frozen=True)
class PlantedPattern:
    """A pattern planted on purpose, so the analysis has something true to find (listed in data/README.md)."""

    kind: str  # persistent | emerging | fading | perception_gap | recorded_gap
    area: str  # neighbourhood name in data/demo/neighbourhoods.geojson
    themes: tuple[str, ...]
    monthly: tuple[int, ...]  # expected extra concerns per month, oldest first (zeros for the crime-only one)
    note: str


# fmt: off
PATTERNS: tuple[PlantedPattern, ...] = (
    PlantedPattern("persistent", "Rautatientori", ("drugs",), (32,) * 18,
                   "drug dealing and use by the station square and metro entrance, all 18 months"),
    PlantedPattern("emerging", "Vanha kirkkopuisto", ("noise", "asb"), (0,) * 13 + (12, 28, 50, 80, 115),
                   "noise and disorder around the bars in the last five months, growing every month"),
    PlantedPattern("fading", "Siltasaari", ("vandalism",), (45,) * 8 + (20, 10, 6, 4, 3, 2, 2, 1, 1, 1),
                   "graffiti and damage by the bridge and shore, strong for the first eight months, then fading"),
    PlantedPattern("perception_gap", "Kaisaniemen puisto", ("asb", "lighting", "drugs", "other"), (25,) * 18,
                   "many concerns (dark paths, feeling unsafe) but little recorded crime"),
    PlantedPattern("recorded_gap", "Aleksanterinkatu", ("theft",), (0,) * 18,
                   "much recorded shoplifting and pickpocketing, few residents' concerns"),
)

# Background concerns: share of each theme, before seasonality.
_BACKGROUND = 8400
_THEME_SHARE = {
    "noise": 0.13, "asb": 0.10, "litter": 0.12, "parking": 0.10, "traffic": 0.09, "vandalism": 0.08,
    "theft": 0.07, "lighting": 0.08, "drugs": 0.05, "other": 0.08, "violence": 0.04, "burglary": 0.02,
}
_SENSITIVE_COUNTS = {"domestic": 24, "hate": 16}
_REPEAT_EPISODES = 45

# Month-of-year factors (Jan..Dec). Helsinki: no darkness in June, snow and ice in winter.
_SEASON = {
    "noise":    (0.6, 0.6, 0.7, 0.9, 1.3, 1.6, 1.8, 1.6, 1.1, 0.9, 0.7, 0.8),
    "asb":      (0.8, 0.8, 0.9, 1.0, 1.2, 1.3, 1.3, 1.2, 1.0, 0.9, 0.8, 0.9),
    "lighting": (2.2, 1.6, 1.0, 0.5, 0.15, 0.05, 0.05, 0.3, 0.9, 1.7, 2.4, 2.6),
    "litter":   (0.7, 0.7, 0.8, 1.0, 1.4, 1.4, 1.5, 1.3, 1.0, 0.9, 0.8, 0.8),
    "other":    (2.0, 2.0, 1.4, 0.8, 0.7, 0.6, 0.6, 0.6, 0.7, 0.8, 1.2, 1.8),
    "traffic":  (1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.7, 0.9, 1.1, 1.0, 1.0, 0.9),
    "theft":    (0.8, 0.8, 0.9, 1.0, 1.2, 1.3, 1.3, 1.2, 1.0, 0.9, 0.9, 1.1),
}
_SPECIAL_DAYS = ((5, 1), (12, 31), (1, 1))  # Vappu and New Year: noise, litter and disorder
_NIGHT_THEMES = frozenset({"noise", "asb", "violence"})
_WEEKDAY_THEMES = frozenset({"traffic", "parking"})
# fmt: on


def _hours(peaks: dict[int, float], base: float) -> np.ndarray:
    weights = np.full(24, base)
    for hour, weight in peaks.items():
        weights[hour] = weight
    return np.asarray(weights / weights.sum())


# When residents report, by theme (hour of day -> relative weight).
# fmt: off
_HOUR_PROFILE = {
    "noise": _hours({21: 1, 22: 2, 23: 3, 0: 3.5, 1: 3.5, 2: 3, 3: 2, 4: 1, 7: 0.6, 8: 0.6}, 0.15),
    "asb": _hours({**dict.fromkeys(range(12, 18), 0.8), 18: 1.5, 19: 2, 20: 2.5, 21: 2.5, 22: 2.5,
                   23: 2, 0: 1.5, 1: 1}, 0.1),
    "violence": _hours({20: 1.5, 21: 2, 22: 2.5, 23: 3, 0: 3, 1: 3, 2: 2.5, 3: 1.5}, 0.3),
    "domestic": _hours({19: 1.5, 20: 2, 21: 2, 22: 2.5, 23: 2.5, 0: 2, 1: 1.5}, 0.4),
    "traffic": _hours({7: 2.5, 8: 3, 9: 2, **dict.fromkeys(range(10, 15), 1.0), 15: 2, 16: 2.5, 17: 2.5,
                       18: 1.5, 22: 0.8}, 0.1),
    "lighting": _hours({6: 1.5, 7: 2, 8: 1.5, 15: 1, 16: 2, 17: 2.5, 18: 2.5, 19: 2, 20: 2, 21: 1.5,
                        22: 1}, 0.1),
    "drugs": _hours(dict.fromkeys(range(10, 23), 1.5), 0.3),
}
_DEFAULT_HOURS = _hours(dict.fromkeys(range(8, 21), 1.0), 0.1)

# Neighbourhood factors: where residents write in (concerns) and where recorded crime happens (footfall).
_CONCERN_FACTOR = {
    "Aleksanterinkatu": 0.2, "Keskusta": 0.6, "Kruununhaka": 1.4, "Siltavuori": 1.4, "Kaartinkaupunki": 1.3,
    "Kolmikulma": 1.3, "Siltasaari": 1.2, "Hakaniemi": 1.2, "Kaisaniemen puisto": 1.2,
}
_CRIME_FACTOR = {
    "Kaisaniemen puisto": 0.2, "Linnunlaulu": 0.3, "Töölönlahti": 0.3, "Kansalaistori": 0.7,
    "Rautatieasema": 1.6, "Keskusta": 1.5, "Kamppi": 1.4, "Rautatientori": 1.3, "Kruununhaka": 0.6,
    "Siltavuori": 0.6,
}
# Residents per km² (made up, of the right size for central Helsinki).
_DENSITY = {
    "Kruununhaka": 14000, "Siltavuori": 11000, "Kaartinkaupunki": 9000, "Kolmikulma": 12000,
    "Vanha kirkkopuisto": 10000, "Kamppi": 9000, "Siltasaari": 8000, "Hakaniemi": 9000, "Eteläranta": 5000,
    "Linnunlaulu": 400, "Töölönlahti": 80, "Kaisaniemen puisto": 60, "Rautatieasema": 40,
    "Kansalaistori": 150,
}
_DEFAULT_DENSITY = 2500

# Recorded crime: expected background crimes per month by police.uk category, before seasonality.
_CRIME_MIX = {
    "Violence and sexual offences": 95, "Anti-social behaviour": 85, "Other theft": 45, "Shoplifting": 40,
    "Public order": 35, "Criminal damage and arson": 22, "Theft from the person": 20, "Drugs": 18,
    "Bicycle theft": 14, "Vehicle crime": 8, "Burglary": 6, "Other crime": 6, "Robbery": 5,
    "Possession of weapons": 4,
}
_CRIME_SUMMER = {
    "Violence and sexual offences": 1.25, "Anti-social behaviour": 1.3, "Public order": 1.25,
    "Bicycle theft": 1.8,
}
# Extra recorded crime by area, (area, crime type, expected per month): agreeing with concerns, or not.
_CRIME_EXTRAS = (
    ("Aleksanterinkatu", "Shoplifting", (80,) * 18),
    ("Aleksanterinkatu", "Theft from the person", (25,) * 18),
    ("Aleksanterinkatu", "Other theft", (15,) * 18),
    ("Rautatientori", "Drugs", (12,) * 18),
    ("Vanha kirkkopuisto", "Public order", (0,) * 13 + (3, 6, 10, 14, 18)),
    ("Vanha kirkkopuisto", "Violence and sexual offences", (0,) * 13 + (2, 4, 7, 10, 13)),
    ("Siltasaari", "Criminal damage and arson", (10,) * 8 + (2,) * 10),
)
_OUTCOMES = (
    ("Investigation complete; no suspect identified", 0.45), ("Unable to prosecute suspect", 0.22),
    ("Status update unavailable", 0.06), ("Local resolution", 0.05), ("Offender given a caution", 0.03),
    ("Awaiting court outcome", 0.04), ("Court result unavailable", 0.03),
    ("Action to be taken by another organisation", 0.03),
    ("Further investigation is not in the public interest", 0.02),
    ("Formal action is not in the public interest", 0.02), ("Offender given penalty notice", 0.05),
)
# fmt: on


@dataclass(frozen=True)
class DemoInputs:
    """The files `write_demo_inputs` wrote, in the order `build_demo` ingests them."""

    root: Path
    areas: Path
    layers: dict[str, Path]
    stats: Path
    crime: tuple[Path, ...]
    concerns: Path

    def files(self) -> list[Path]:
        return [self.areas, *self.layers.values(), self.stats, *self.crime, self.concerns]


class _Clock:
    """Days of the demo period (N_MONTHS months up to `last_day`) and when residents report, by theme:
    season, weekday and hour. `last_share` is the part of the last month that has happened by `last_day`
    (monthly expectations are scaled by it, so a build on the 3rd does not crowd a month into three days)."""

    def __init__(self, last_day: date) -> None:
        self.last_day = last_day
        self.months = demo_months(last_day)
        first = date.fromisoformat(self.months[0] + "-01")
        self.days = np.array([first + timedelta(d) for d in range((last_day - first).days + 1)])
        start = first.year * 12 + first.month - 1
        self.month_idx = np.array([d.year * 12 + d.month - 1 - start for d in self.days])
        next_month = date(last_day.year + last_day.month // 12, last_day.month % 12 + 1, 1)
        self.last_share = last_day.day / (next_month - date(last_day.year, last_day.month, 1)).days
        self.moy = np.array([d.month for d in self.days])
        self.weekday = np.array([d.weekday() for d in self.days])
        self.special = np.array([(d.month, d.day) in _SPECIAL_DAYS for d in self.days])

    def day_weights(self, theme: str) -> np.ndarray:
        weights = np.array(_SEASON.get(theme, (1.0,) * 12))[self.moy - 1]
        if theme in _NIGHT_THEMES:
            weights = weights * np.where(self.weekday >= 4, 1.8, 1.0)
        elif theme in _WEEKDAY_THEMES:
            weights = weights * np.where(self.weekday < 5, 1.3, 0.6)
        if theme in ("noise", "litter", "asb"):
            weights = weights * np.where(self.special, 5.0, 1.0)
        return np.asarray(weights)

    def sample(self, rng: np.random.Generator, theme: str, n: int, month: int | None = None) -> list[str]:
        """n times as 'YYYY-MM-DD HH:MM' (sortable; written day-first later), optionally within one month."""
        weights = self.day_weights(theme)
        if month is not None:
            weights = np.where(self.month_idx == month, weights, 0.0)
        day = rng.choice(len(self.days), size=n, p=weights / weights.sum())
        hour = rng.choice(24, size=n, p=_HOUR_PROFILE.get(theme, _DEFAULT_HOURS))
        minute = rng.integers(0, 60, size=n)
        return [
            f"{self.days[d].isoformat()} {h:02d}:{m:02d}" for d, h, m in zip(day, hour, minute, strict=True)
        ]


def _concerns(rng: np.random.Generator, geo: Geo, clock: _Clock) -> list[tuple[str, float, float, str, str]]:
    """(ISO time, x, y, theme, text) for every synthetic concern, unsorted."""
    writer = Writer(rng, geo)
    area_factor = np.array([_CONCERN_FACTOR.get(name, 1.0) for name in geo.names])
    background = np.where(geo.pool_area >= 0, area_factor[np.maximum(geo.pool_area, 0)], 0.8)
    rows: list[tuple[str, np.ndarray, str, str]] = []  # time, pool xy, theme, text

    def add(
        theme: str,
        times: list[str],
        where: np.ndarray,
        *,
        at: np.ndarray | None = None,
        emerging: float = 0.0,
    ) -> None:
        """Reports at street points `where` (or at points `at`, naming the street of `where`)."""
        points = geo.pool[where] if at is None else at
        personal = rng.random(len(times)) < 0.02
        new = rng.random(len(times)) < emerging
        for t, idx, xy, pii, is_new in zip(times, where, points, personal, new, strict=True):
            lang = writer.language()
            text = writer.report(
                writer.core(theme, lang, is_new), lang, int(geo.pool_street[idx]), personal=pii
            )
            rows.append((t, xy, theme, text))

    # 1. Background, every theme by its share, season, weekday and hour.
    lamp_pool = np.array([int(np.argmin(((geo.pool - lamp) ** 2).sum(axis=1))) for lamp in geo.lamps])
    for theme, share in _THEME_SHARE.items():
        n = int(round(_BACKGROUND * share))
        if theme == "lighting":  # half the lighting reports are at a real mapped lamp
            lamps = rng.integers(0, len(geo.lamps), n // 2)
            add(theme, clock.sample(rng, theme, len(lamps)), lamp_pool[lamps], at=geo.lamps[lamps])
            n -= len(lamps)
        add(theme, clock.sample(rng, theme, n), pick(rng, background, n))

    # 2. Planted patterns.
    for pattern in PATTERNS:
        target = geo.area_index(pattern.area)
        inside = (geo.pool_area == target).astype(float)
        if pattern.kind == "emerging":
            bars = np.array([k in ("bar", "pub", "nightclub") for k in geo.premises_kind])
            in_area = geo.area_of(geo.premises) == target
            weights = inside * (kernel(geo, geo.premises[bars & in_area], 35.0) + 1e-6)
        elif pattern.kind == "perception_gap":
            weights = inside
        else:
            weights = around(geo, pattern.area, 70.0)
        for month, expected in enumerate(pattern.monthly):
            share = clock.last_share if month == N_MONTHS - 1 else 1.0
            n = int(rng.poisson(expected * share)) if expected else 0
            if not n:
                continue
            moy = int(
                clock.months[month][5:]
            )  # the mix of themes follows the season (no lighting issues in June)
            season = np.array([_SEASON.get(theme, (1.0,) * 12)[moy - 1] for theme in pattern.themes])
            theme_of = rng.choice(len(pattern.themes), size=n, p=season / season.sum())
            for t_index, theme in enumerate(pattern.themes):
                count = int((theme_of == t_index).sum())
                if count:
                    add(
                        theme,
                        clock.sample(rng, theme, count, month),
                        pick(rng, weights, count),
                        emerging=0.5 if pattern.kind == "emerging" else 0.0,
                    )

    # 3. Sensitive themes: few, spread over the whole district.
    for theme, n in _SENSITIVE_COUNTS.items():
        add(theme, clock.sample(rng, theme, n), pick(rng, np.ones(len(geo.pool)), n))

    # 4. Repeat reporters: one issue reported 3-6 times within days from the same spot.
    for _ in range(_REPEAT_EPISODES):
        theme = str(rng.choice(["noise", "parking", "litter", "lighting", "vandalism", "asb", "traffic"]))
        idx = int(pick(rng, background, 1)[0])
        lang = writer.language()
        core = writer.core(theme, lang)
        start = clock.sample(rng, theme, 1)[0]
        day0 = date.fromisoformat(start[:10])
        offsets = np.sort(rng.integers(0, 6, size=int(rng.integers(3, 7))))
        for k, offset in enumerate(offsets):
            day = min(day0 + timedelta(int(offset)), clock.last_day)
            hour = int(rng.choice(24, p=_HOUR_PROFILE.get(theme, _DEFAULT_HOURS)))
            text = writer.report(core, lang, int(geo.pool_street[idx]), repeat=k > 0)
            rows.append(
                (f"{day.isoformat()} {hour:02d}:{int(rng.integers(60)):02d}", geo.pool[idx], theme, text)
            )

    xy = jitter(rng, geo, np.array([r[1] for r in rows]))
    return [
        (t, float(x), float(y), theme, text) for (t, _, theme, text), (x, y) in zip(rows, xy, strict=True)
    ]


def _write_concerns(path: Path, rng: np.random.Generator, geo: Geo, clock: _Clock) -> int:
    rows = _concerns(rng, geo, clock)
    labels = {t.code: t.labels["fi"] for t in themes()}
    no_theme = rng.random(len(rows)) < 0.05
    order = np.lexsort((rng.random(len(rows)), np.array([r[0] for r in rows])))
    lon, lat = to_lonlat(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CONCERN_HEADER)
    for number, i in enumerate(order, start=1):
        iso, _, _, theme, text = rows[i]
        stamp = f"{iso[8:10]}.{iso[5:7]}.{iso[:4]} {iso[11:]}"  # 24.11.2026 13:45
        label = "" if no_theme[i] and theme not in ("domestic", "hate") else labels[theme]
        writer.writerow(
            [
                f"PAL-{100000 + number}",
                stamp,
                f"{lat[i]:.6f}".replace(".", ","),
                f"{lon[i]:.6f}".replace(".", ","),
                label,
                text,
            ]
        )
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return len(rows)


def _footfall(geo: Geo) -> np.ndarray:
    """Where background crime happens: busier areas, and more of it near bars and restaurants."""
    factor = np.array([_CRIME_FACTOR.get(name, 1.0) for name in geo.names])
    nightlife = kernel(geo, geo.premises, 60.0)
    return np.asarray(factor[np.maximum(geo.area_of(geo.pool), 0)] * (0.5 + nightlife / nightlife.max() * 3))


def _crime_month(
    rng: np.random.Generator, geo: Geo, base: np.ndarray, month: int, seed: int, clock: _Clock
) -> str:
    """One police.uk street-level CSV: locations snapped to anonymous points, 'On or near <street>'."""
    label = clock.months[month]
    share = clock.last_share if month == N_MONTHS - 1 else 1.0
    season = label[5:] in ("06", "07", "08")
    rows: list[tuple[str, np.ndarray]] = []
    for crime_type, expected in _CRIME_MIX.items():
        lam = expected * (_CRIME_SUMMER.get(crime_type, 1.0) if season else 1.0)
        if crime_type == "Bicycle theft" and label[5:] in ("12", "01", "02", "03"):
            lam *= 0.4
        n = int(rng.poisson(lam * share))
        rows += [(crime_type, geo.pool[i]) for i in pick(rng, base, n)]

    for name, extra_type, monthly in _CRIME_EXTRAS:
        n = int(rng.poisson(monthly[month] * share))
        rows += [(extra_type, geo.pool[i]) for i in pick(rng, around(geo, name, 80.0), n)]

    xy = np.array([r[1] for r in rows]) + rng.normal(0.0, 25.0, size=(len(rows), 2))
    nearest = np.array([int(np.argmin(((geo.snap - p) ** 2).sum(axis=1))) for p in xy])
    area = geo.area_of(geo.snap[nearest])
    lon, lat = to_lonlat(geo.snap[nearest, 0], geo.snap[nearest, 1])
    order = np.lexsort((rng.random(len(rows)), area))
    outcomes, outcome_p = zip(*_OUTCOMES, strict=True)
    recent = month >= N_MONTHS - 2
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(POLICEUK_HEADER)
    for i in order:
        crime_type = rows[i][0]
        asb = crime_type == "Anti-social behaviour"
        if asb:
            crime_id = outcome = ""
        else:
            crime_id = hashlib.sha256(f"koban-demo:{seed}:{label}:{i}".encode()).hexdigest()
            if recent and rng.random() < 0.5:
                outcome = "Under investigation"
            else:
                outcome = str(
                    outcomes[int(rng.choice(len(outcomes), p=np.array(outcome_p) / sum(outcome_p)))]
                )
        a = int(area[i])
        writer.writerow(
            [
                crime_id,
                label,
                FORCE,
                FORCE,
                f"{lon[i]:.6f}",
                f"{lat[i]:.6f}",
                f"On or near {geo.street_fi[int(geo.snap_street[nearest[i]])]}",
                geo.codes[a] if a >= 0 else "",
                geo.names[a] if a >= 0 else "",
                crime_type,
                outcome,
                "",
            ]
        )
    return buffer.getvalue()


def _write_stats(path: Path, rng: np.random.Generator, geo: Geo) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["area_code", "period", "indicator", "value"])
    for code, name, poly in zip(geo.codes, geo.names, geo.areas_m, strict=True):
        density = _DENSITY.get(name, _DEFAULT_DENSITY)
        population = max(3, int(round(poly.area / 1e6 * density * float(rng.lognormal(0.0, 0.15)))))
        households = max(2, int(round(population / float(rng.uniform(1.45, 1.75)))))
        writer.writerow([code, STATS_PERIOD, "population", population])
        writer.writerow([code, STATS_PERIOD, "households", households])
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def write_demo_inputs(out_dir: Path, seed: int = 7, last_day: date | None = None) -> DemoInputs:
    """Write the demo's input files into out_dir, exactly as a user would feed them to `koban-geo ingest`.

    The data end on `last_day` (default today), so "the last 4 weeks" are never empty on a fresh demo; the
    same seed and the same last day give byte-identical files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    geo, clock = geography(), _Clock(last_day or date.today())
    # One generator per output, each from the seed: changing one file's recipe leaves the others alone.
    streams = np.random.SeedSequence(seed).spawn(3)
    areas = out_dir / "neighbourhoods.geojson"
    shutil.copyfile(demo_dir() / "neighbourhoods.geojson", areas)
    (out_dir / "layers").mkdir(exist_ok=True)
    layers = {}
    for layer, name in LAYER_FILES.items():
        layers[layer] = out_dir / "layers" / name
        shutil.copyfile(demo_dir() / name, layers[layer])
    stats = out_dir / "area_stats.csv"
    _write_stats(stats, np.random.default_rng(streams[0]), geo)
    crime_rng = np.random.default_rng(streams[1])
    crime, footfall = [], _footfall(geo)
    for month, label in enumerate(clock.months):
        path = out_dir / "crime" / label / f"{label}-helsinki-street.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = _crime_month(crime_rng, geo, footfall, month, seed, clock)
        path.write_text(text, encoding="utf-8", newline="")
        crime.append(path)
    concerns = out_dir / "concerns.csv"
    _write_concerns(concerns, np.random.default_rng(streams[2]), geo, clock)
    return DemoInputs(out_dir, areas, layers, stats, tuple(crime), concerns)


class DemoError(RuntimeError):
    """A demo file was refused as a whole by ingestion: the demo and the ingest code disagree."""


def build_demo(
    con: Any, settings: Any, work_dir: Path, seed: int = 7, last_day: date | None = None
) -> dict[str, int]:
    """Write the demo inputs into work_dir and ingest them: areas, layers, stats, crime, then concerns.
    The data end on `last_day`, default today in settings.timezone (see `write_demo_inputs`).

    Returns the rows accepted per kind, plus 'rejected' (all kinds together).
    """
    from koban_geo.ingest import ingest_file  # imported here: the demo's files need nothing of ingest

    if last_day is None:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        last_day = datetime.now(ZoneInfo(settings.timezone)).date()
    inputs = write_demo_inputs(work_dir, seed, last_day)
    counts = {"areas": 0, "layer": 0, "stats": 0, "crime": 0, "concerns": 0, "rejected": 0}

    def run(kind: str, path: Path, **options: Any) -> None:
        result = ingest_file(con, settings, path, kind=kind, **options)
        if result.rejected and not result.accepted and not getattr(result, "duplicate", 0):
            raise DemoError(f"{path.name}: every row rejected: {'; '.join(result.errors[:3])}")
        counts[kind] += result.accepted
        counts["rejected"] += result.rejected

    run("areas", inputs.areas, code_field="code", name_field="name")
    for layer, path in inputs.layers.items():
        run("layer", path, layer=layer)
    run("stats", inputs.stats)
    for path in inputs.crime:
        run("crime", path, fmt="policeuk")
    run("concerns", inputs.concerns, source="demo")
    return counts
