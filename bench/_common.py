"""What the benchmarks in bench/ share: the machine they ran on, memory, one contender per child process,
and generated concerns data (a Finnish export over central Helsinki, with areas tiling it).

A contender runs in a fresh interpreter (`run_child`) so its peak RSS is its own, not the parent's; the child
prints one JSON object as its last line of standard output (`emit`). `inputs(out, rows)` returns the cached
(or freshly generated, seeded) CSV and areas.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (VmHWM from /proc, else ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mb() -> float:
    """Current resident set size of this process in MiB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler:
    """Peak RSS (MiB) per named stage, sampled every `interval` seconds in a background thread.

    with RssSampler() as rss:
        rss.stage = "reading"; ...
    rss.peaks  # {"start": 250.0, "reading": 612.0, ...}
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.stage = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        now = round(rss_mb())
        self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), now)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def total_ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(packages: tuple[str, ...] = ()) -> dict[str, Any]:
    """Facts about the machine and the software, for the report."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": round(total_ram_gb(), 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": {p: version(p) for p in packages},
    }


def emit(result: dict[str, Any]) -> None:
    """The child's answer: one JSON line, always last on stdout, with the process's peak RSS added."""
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


class ChildFailed(RuntimeError):
    """The child process failed (an exception or a signal such as SIGSEGV); `detail` holds its stderr tail."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


def run_child(script: Path, args: list[str], *, timeout: float | None = None) -> dict[str, Any]:
    """Run `python script args` in a fresh interpreter and return the JSON object it emitted last.

    The child runs with faulthandler on, so a crash in native code still names the Python line it came from.
    """
    command = [sys.executable, "-X", "faulthandler", str(script), *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        raise ChildFailed(f"{script.name} {' '.join(args)} failed ({how})", proc.stderr[-6000:])
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise ChildFailed(f"{script.name} {' '.join(args)} printed no result", proc.stdout[-2000:])
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")


GENERATOR = "v1"  # bump when the generated data changes, so cached inputs are rebuilt
SEED = 20240611
BOX = (24.80, 60.13, 25.05, 60.26)  # lon/lat box around central Helsinki, about 13.9 x 14.5 km
GRID = (5, 4)  # area columns x rows

# ----------------------------------------------------------------------------------------------------------
# Generated concerns: a Finnish export over central Helsinki, and areas tiling it (bench/ingest.py)
# ----------------------------------------------------------------------------------------------------------

_KM_PER_DEG_LAT = 111.2
_KM_PER_DEG_LON = 111.32 * math.cos(math.radians((BOX[1] + BOX[3]) / 2))

AREA_NAMES = (
    "Lauttasaari", "Munkkiniemi", "Pikku Huopalahti", "Haaga", "Pakila", "Ruoholahti", "Kamppi", "Töölö",
    "Pasila", "Käpylä", "Kaartinkaupunki", "Kruununhaka", "Kallio", "Vallila", "Arabianranta",
    "Suomenlinna", "Katajanokka", "Sörnäinen", "Kulosaari", "Herttoniemi",
)  # fmt: skip

# Theme codes with their share of reports; labels are the taxonomy's Finnish ones (koban_geo.store.taxonomy).
THEME_WEIGHTS = {
    "noise": 0.18, "litter": 0.14, "parking": 0.12, "traffic": 0.10, "asb": 0.09, "vandalism": 0.08,
    "lighting": 0.07, "theft": 0.05, "drugs": 0.04, "burglary": 0.03, "violence": 0.03, "other": 0.045,
    "domestic": 0.012, "hate": 0.01, "radicalisation": 0.003,
}  # fmt: skip

# What residents write, in the languages heard in Helsinki (fi, sv, en, ru, et), by theme.
TEXTS = {
    "noise": ("Kovaa musiikkia myöhään illalla", "Naapurissa bileet taas", "Hög musik sent på natten",
              "Loud party next door", "Шум во дворе ночью", "Vali muusika öösel"),
    "litter": ("Roskia levitetty pitkin katua", "Roskis täynnä ja yli", "Skräp överallt i parken",
               "Rubbish dumped behind the shop", "Мусор возле магазина",
               "Huonekaluja jätetty jalkakäytävälle"),
    "parking": ("Autoja pysäköity pyörätielle", "Auto tukkii pihaliittymän",
                "Bilar parkerade på trottoaren", "Van parked on the pavement",
                "Pakettiauto lastauspaikalla koko päivän"),
    "traffic": ("Autot ajavat liian lujaa", "Punaisia päin ajetaan jatkuvasti", "Bilar kör för fort",
                "Cars racing at night", "Mopot ajavat puistossa"),
    "asb": ("Porukka häiritsee ohikulkijoita", "Nuoret heittelevät kiviä",
            "Gäng stör folk vid stationen", "Group harassing people at the stop",
            'Joku huusi "lopeta" ja juoksi pois'),
    "vandalism": ("Graffiteja seinässä", "Rikottu bussikatos", "Klotter på väggen",
                  "Broken glass on the playground", "Penkit rikottu; taas"),
    "lighting": ("Katuvalo ei toimi", "Katuvalo vilkkuu", "Gatlyktan är trasig", "Street light flickering",
                 "Koko kadun valot pimeänä"),
    "theft": ("Pyörä varastettu telineestä", "Cykeln stulen från gården",
              "Bike stolen outside the library", "Kellarista viety tavaroita"),
    "drugs": ("Huumekauppaa puistossa", "Ruiskuja leikkipaikalla", "Drug dealing near the school",
              "Narkotikahandel vid tunneln"),
    "burglary": ("Murtoyritys kellarikomeroon", "Inbrott i förrådet", "Break-in attempt at the back door"),
    "violence": ("Tappelu baarin edessä", "Uhkailua kaupan ovella", "Fight outside the bar",
                 "Slagsmål vid kiosken"),
    "other": ("Epäilyttävää liikettä pihalla", "Someone sleeping in the stairwell",
              "Koira irti puistossa", "Något konstigt pågår i porten"),
    "domestic": ("Naapurista kuuluu huutoa ja itkua", "Shouting and crying from the flat upstairs"),
    "hate": ("Rasistisia tarroja pysäkillä", "Hateful graffiti on the mosque wall"),
    "radicalisation": ("Äärijärjestön lappuja jaettiin", "Extremist flyers handed out"),
}  # fmt: skip
QUALIFIERS = ("taas", "joka viikonloppu", "jo viikkoja", "every night", "varje helg", "aamuyöllä",
              "lähellä koulua", "near the station", "vid busshållplatsen", "puiston kohdalla",
              "ei ensimmäinen kerta", "please do something", "toivottavasti joku puuttuu",
              "etenkin perjantaisin")  # fmt: skip
# Fragments with digits that are not personal data ({} takes a number).
DIGIT_FRAGMENTS = ("klo {}.30", "noin {} kertaa viikossa", "jo {} viikkoa", "at {}am", "kl. {} varje natt",
                   "{} min välein", "linja {} bussipysäkillä", "yli {} km/h", "ainakin {} henkilöä",
                   "since {} days", "{} autoa", "kerros {}", "portaikko {}")  # fmt: skip
STREETS = (
    "Mannerheimintie",
    "Fleminginkatu",
    "Hämeentie",
    "Kaisaniemenkatu",
    "Itäväylä",
    "Helsinginkatu",
    "Runeberginkatu",
    "Mechelininkatu",
    "Sturenkatu",
    "Aleksanterinkatu",
    "Vaasankatu",
    "Porthaninkatu",
)
FIRST = ("matti", "anna", "juha", "laura", "mikko", "sanna", "olli", "emma", "ville", "aino")
LAST = ("virtanen", "korhonen", "nieminen", "makinen", "hamalainen", "laine", "heikkinen", "koskinen")
MAIL_DOMAINS = ("gmail.com", "outlook.com", "example.fi", "elisanet.fi", "hotmail.com")


def _personal(rng: Any) -> str:
    """One piece of personal data as people write it: phone, e-mail, plate, address, rarely an ID or IBAN."""
    kind = rng.choice(8, p=[0.26, 0.14, 0.2, 0.16, 0.16, 0.04, 0.02, 0.02])
    n = int(rng.integers(0, 10_000_000))
    if kind == 0:
        return f"soita {rng.choice(['040', '050', '044', '045'])} {n % 1000:03d} {n // 1000 % 10000:04d}"
    if kind == 1:
        return f"tel. +358 {rng.choice(['40', '50', '44'])} {n % 1000:03d} {n // 1000 % 10000:04d}"
    if kind == 2:
        name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}"
        return f"vastaa {name}{n % 100 if n % 3 == 0 else ''}@{rng.choice(MAIL_DOMAINS)}"
    if kind == 3:
        letters = "".join(rng.choice(list("ABCEFGHIJKLMNOPRSTUVXYZ"), 3))
        return f"auto {letters}-{n % 999 + 1}"
    if kind == 4 or kind == 5:
        house = f"{n % 120 + 1}" + (f" {rng.choice(list('ABCD'))} {n % 40 + 1}" if n % 2 else "")
        return f"osoite {rng.choice(STREETS)} {house}"
    if kind == 6:
        return "hetu 131052-308T"  # the public example henkilötunnus (valid check character)
    return "tilille FI21 1234 5600 0007 85"  # the public example Finnish IBAN


def _to_lonlat(x_km: Any, y_km: Any) -> tuple[Any, Any]:
    return BOX[0] + x_km / _KM_PER_DEG_LON, BOX[1] + y_km / _KM_PER_DEG_LAT


def area_polygons(seed: int = SEED) -> list[tuple[str, str, list[tuple[float, float]]]]:
    """The box cut into GRID cells with jittered corners and wavy shared borders: (code, name, ring)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cols, rows = GRID
    width, height = (BOX[2] - BOX[0]) * _KM_PER_DEG_LON, (BOX[3] - BOX[1]) * _KM_PER_DEG_LAT
    cw, ch = width / cols, height / rows
    nodes = {}
    for i in range(cols + 1):
        for j in range(rows + 1):
            dx = 0.0 if i in (0, cols) else rng.uniform(-0.15, 0.15) * cw
            dy = 0.0 if j in (0, rows) else rng.uniform(-0.15, 0.15) * ch
            nodes[i, j] = (i * cw + dx, j * ch + dy)

    def edge(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[float, float]]:
        """Border from node a to node b; the same points (reversed) for the neighbour on the other side."""
        forward = a < b
        lo, hi = (a, b) if forward else (b, a)
        (x0, y0), (x1, y1) = nodes[lo], nodes[hi]
        on_box = (lo[0] == hi[0] and lo[0] in (0, cols)) or (lo[1] == hi[1] and lo[1] in (0, rows))
        erng = np.random.default_rng([seed, *lo, *hi])
        t = np.linspace(0.0, 1.0, 31)
        amp = 0.0 if on_box else 0.12
        wave = amp * (np.sin(np.pi * t * erng.integers(1, 4)) * erng.uniform(-1, 1)
                      + 0.5 * np.sin(np.pi * t * erng.integers(4, 9)) * erng.uniform(-1, 1))  # fmt: skip
        length = math.hypot(x1 - x0, y1 - y0)
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        pts = list(zip(x0 + (x1 - x0) * t + nx * wave, y0 + (y1 - y0) * t + ny * wave, strict=True))
        return pts if forward else pts[::-1]

    polygons = []
    for j in range(rows):
        for i in range(cols):
            corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j)]
            ring: list[tuple[float, float]] = []
            for a, b in zip(corners, corners[1:], strict=False):
                ring.extend(edge(a, b)[:-1])
            ring.append(ring[0])
            xs, ys = _to_lonlat(np.array([p[0] for p in ring]), np.array([p[1] for p in ring]))
            lonlat = [(round(float(x), 7), round(float(y), 7)) for x, y in zip(xs, ys, strict=True)]
            n = j * cols + i
            polygons.append((f"HEL-{n + 1:02d}", AREA_NAMES[n], lonlat))
    return polygons


def write_areas(path: Path) -> None:
    import shapely

    features = []
    for code, name, ring in area_polygons():
        polygon = shapely.Polygon(ring)
        if not polygon.is_valid:
            raise RuntimeError(f"generated area {code} is not a valid polygon")
        geometry = {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}
        features.append({"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geometry})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def write_concerns(path: Path, rows: int, seed: int = SEED) -> dict[str, float]:
    """A deterministic Finnish concerns export (`tunnus;ilmoitettu;leveysaste;pituusaste;aihe;kuvaus`)."""
    import numpy as np

    from koban_geo.store.taxonomy import themes

    rng = np.random.default_rng([seed, rows])
    label_fi = {t.code: t.labels["fi"] for t in themes()}
    codes = list(THEME_WEIGHTS)
    weights = np.array([THEME_WEIGHTS[c] for c in codes])
    theme_idx = rng.choice(len(codes), size=rows, p=weights / weights.sum())

    # Places: 75% around 40 hot spots (sd 0.2-1 km), 25% spread evenly over the box plus a 0.6 km margin,
    # so a few percent fall outside every area (area_code NULL), as real reports from the edge of a city do.
    width, height = (BOX[2] - BOX[0]) * _KM_PER_DEG_LON, (BOX[3] - BOX[1]) * _KM_PER_DEG_LAT
    spots = rng.uniform([0.05 * width, 0.05 * height], [0.95 * width, 0.95 * height], size=(40, 2))
    spot_sd = rng.uniform(0.2, 1.0, size=40)
    spot_w = rng.gamma(1.5, size=40)
    which = rng.choice(40, size=rows, p=spot_w / spot_w.sum())
    x = spots[which, 0] + rng.normal(size=rows) * spot_sd[which]
    y = spots[which, 1] + rng.normal(size=rows) * spot_sd[which]
    even = rng.random(rows) < 0.25
    x[even] = rng.uniform(-0.6, width + 0.6, size=int(even.sum()))
    y[even] = rng.uniform(-0.6, height + 0.6, size=int(even.sum()))
    x, y = np.clip(x, -0.6, width + 0.6), np.clip(y, -0.6, height + 0.6)
    lon, lat = _to_lonlat(x, y)

    # Times: 18 months from July 2023, more in the evening and at night, slowly growing use of the service.
    days = np.floor(549 * np.sqrt(rng.random(rows)) * 0.3 + 549 * rng.random(rows) * 0.7).astype("int64")
    hour_w = np.array([5, 4, 3, 2, 1, 1, 2, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 7, 8, 9, 10, 10, 9, 7], dtype=float)
    hours = rng.choice(24, size=rows, p=hour_w / hour_w.sum())
    minutes = rng.integers(0, 60, size=rows)
    stamp = np.datetime64("2023-07-01T00:00") + (days * 1440 + hours * 60 + minutes).astype("timedelta64[m]")
    import pandas as pd

    when = pd.DatetimeIndex(stamp)
    day, month, year, hour, minute = when.day, when.month, when.year, when.hour, when.minute

    # Texts: a theme sentence, sometimes a qualifier, ~26% a number, ~5% personal data, ~2% empty.
    qual = rng.random(rows) < 0.4
    digit = rng.random(rows) < 0.26
    personal = rng.random(rows) < 0.05
    empty = rng.random(rows) < 0.02
    pick = rng.integers(0, 1 << 30, size=(rows, 4))
    stats = {
        "with_digits": 0.0,
        "with_personal_data": float(personal[~empty].sum() / rows),
        "empty_text": 0.0,
    }
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";", lineterminator="\n")
        out.writerow(["tunnus", "ilmoitettu", "leveysaste", "pituusaste", "aihe", "kuvaus"])
        has_digit = 0
        for r in range(rows):
            code = codes[theme_idx[r]]
            if empty[r]:
                text = ""
            else:
                choices = TEXTS[code]
                parts = [choices[pick[r, 0] % len(choices)]]
                if qual[r]:
                    parts.append(QUALIFIERS[pick[r, 1] % len(QUALIFIERS)])
                if digit[r]:
                    frag = DIGIT_FRAGMENTS[pick[r, 2] % len(DIGIT_FRAGMENTS)]
                    parts.append(frag.format(pick[r, 3] % 23 + 1))
                if personal[r]:
                    parts.append(_personal(rng))
                text = ", ".join(parts)
                has_digit += any(c.isdigit() for c in text)
            out.writerow([
                f"HEL-{year[r]}-{r + 1:07d}",
                f"{day[r]:02d}.{month[r]:02d}.{year[r]} {hour[r]:02d}:{minute[r]:02d}",
                f"{lat[r]:.6f}".replace(".", ","),
                f"{lon[r]:.6f}".replace(".", ","),
                label_fi[code],
                text,
            ])  # fmt: skip
    stats["with_digits"] = has_digit / rows
    stats["empty_text"] = float(empty.sum() / rows)
    stats["sensitive_theme"] = float(
        np.isin(theme_idx, [codes.index(c) for c in ("domestic", "hate", "radicalisation")]).mean()
    )
    stats["bytes"] = path.stat().st_size
    return stats


def inputs(out: Path, rows: int) -> tuple[Path, Path, dict[str, float]]:
    """The cached (or freshly generated) concerns CSV and areas GeoJSON for `rows` rows."""
    out.mkdir(parents=True, exist_ok=True)
    areas = out / f"areas-{GENERATOR}.geojson"
    if not areas.exists():
        write_areas(areas)
    concerns = out / f"concerns-{rows}-{GENERATOR}.csv"
    meta = out / f"concerns-{rows}-{GENERATOR}.json"
    if not concerns.exists() or not meta.exists():
        started = time.perf_counter()
        stats = write_concerns(concerns, rows)
        print(f"  generated {concerns.name} in {time.perf_counter() - started:.1f} s", flush=True)
        meta.write_text(json.dumps(stats), encoding="utf-8")
    return concerns, areas, json.loads(meta.read_text(encoding="utf-8"))
