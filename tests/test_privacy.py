"""Privacy at intake, end to end: a file in which every row carries personal data leaves none of it in the store.

The store file's raw bytes are searched too (and its WAL), not only the tables.
"""

from __future__ import annotations

import csv
import json
import struct

import pytest
from click.testing import CliRunner

from koban_geo.cli.main import cli
from koban_geo.store.db import connect

# (reporter name, e-mail, phone, free text with personal data, lat, lon, reported at)
ROWS = [
    ("Jan de Vries", "jan.devries@example.nl", "06-12345678",
     "Auto met kenteken 12-ABC-3 staat elke nacht voor Kerkstraat 27b, bel 0612345678", 60.171234, 24.941987, "2025-03-01 22:47:13"),
    ("Anna Kowalska", "anna.k@example.pl", "+48 512 345 678",
     "Hałas z mieszkania, ul. Lipowa 5/12, mój PESEL 44051401359, pisz na anna.k@example.pl", 60.168765, 24.937654, "2025-03-02 01:12:59"),
    ("Matti Meikäläinen", "matti@example.fi", "040 123 4567",
     "Varas vei pyörän, auto ABC-123, hetu 131052-308T, tili FI21 1234 5600 0007 85", 60.173456, 24.945678, "2025-03-03 14:33:21"),
    ("María García", "maria@example.es", "612 34 56 78",
     "Ruido en Calle Mayor 15, mi DNI 12345678Z, ver https://example.es/foto", 60.166543, 24.951234, "2025-03-04 03:05:44"),
    ("João Silva", "joao@example.pt", "912 345 678",
     "Lixo na Rua Augusta 45, NIF 123456789, IBAN PT50 0002 0123 1234 5678 9015 4", 60.170987, 24.933456, "2025-03-05 19:58:02"),
]  # fmt: skip
PERSONAL = [
    "Jan de Vries", "jan.devries@example.nl", "06-12345678", "0612345678", "12-ABC-3", "Kerkstraat 27b",
    "Anna Kowalska", "anna.k@example.pl", "512 345 678", "Lipowa 5/12", "44051401359",
    "Meikäläinen", "matti@example.fi", "040 123 4567", "ABC-123", "131052-308T", "FI21 1234 5600 0007 85",
    "María García", "maria@example.es", "612 34 56 78", "Calle Mayor 15", "12345678Z", "https://example.es/foto",
    "João Silva", "joao@example.pt", "912 345 678", "Rua Augusta 45", "123456789", "PT50 0002 0123 1234 5678 9015 4",
]  # fmt: skip


def write_csv(path):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["id", "naam", "e-mail", "telefoon", "omschrijving", "lat", "lon", "datum", "thema"])
        for i, (name, mail, phone, text, lat, lon, when) in enumerate(ROWS, start=1):
            writer.writerow(
                [
                    i,
                    name,
                    mail,
                    phone,
                    text,
                    f"{lat}".replace(".", ","),
                    f"{lon}".replace(".", ","),
                    when,
                    "noise",
                ]
            )
    return path


def write_geojson(path):
    features = [
        {"type": "Feature", "id": str(i), "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"name": name, "email": mail, "phone": phone, "description": text, "reported_at": when,
                        "category": "noise"}}
        for i, (name, mail, phone, text, lat, lon, when) in enumerate(ROWS, start=1)
    ]  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def write_open311(path):
    requests = [
        {"service_request_id": str(i), "service_code": "NOISE", "service_name": "Noise", "description": text,
         "requested_datetime": when.replace(" ", "T"), "lat": lat, "long": lon, "address": "Kerkstraat 27b",
         "first_name": name.split()[0], "last_name": name.split()[-1], "email": mail, "phone": phone}
        for i, (name, mail, phone, text, lat, lon, when) in enumerate(ROWS, start=1)
    ]  # fmt: skip
    path.write_text(json.dumps(requests), encoding="utf-8")
    return path


def _raw_forms(value: float) -> list[bytes]:
    return [struct.pack("<d", value), f"{value}".encode(), f"{value}".replace(".", ",").encode()]


@pytest.mark.parametrize(
    ("name", "writer"),
    [("meldingen.csv", write_csv), ("points.geojson", write_geojson), ("requests.json", write_open311)],
)
def test_no_personal_data_anywhere_in_the_store(tmp_path, name, writer):
    db = tmp_path / "store.duckdb"
    source = writer(tmp_path / name)
    result = CliRunner().invoke(cli, ["--db", str(db), "ingest", str(source)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "5 stored" in result.stdout

    con = connect(db)
    dump = "\n".join(
        str(row)
        for table in ("concerns", "ingest_batches", "audit_log", "meta")
        for row in con.execute(f"SELECT * FROM {table}").fetchall()
    )
    descriptions = [r[0] for r in con.execute("SELECT description FROM concerns ORDER BY id").fetchall()]
    stamps = [r[0] for r in con.execute("SELECT strftime(reported_at, '%M:%S') FROM concerns").fetchall()]
    con.close()
    for token in PERSONAL + [n.split()[-1] for n, *_ in ROWS]:
        assert token not in dump, token
    assert all("[" in d for d in descriptions)  # placeholders, and the problem words remain
    assert "Hałas z mieszkania" in descriptions[1] and "Ruido en" in descriptions[3]
    assert set(stamps) == {"00:00"}  # minutes and seconds dropped

    raw = db.read_bytes()
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        raw += wal.read_bytes()
    for token in PERSONAL:
        assert token.encode() not in raw, token
    for *_, lat, lon, _ in ROWS:
        for form in _raw_forms(lat) + _raw_forms(lon):
            assert form not in raw, (lat, lon, form)
