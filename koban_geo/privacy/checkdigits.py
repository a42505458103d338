"""Check digits of the personal numbers the scrubber catches: national IDs of NL, BE, PL, FI, ES, PT and IBANs.

Small pure functions taking a candidate as people write it (spaces, dots and dashes allowed); the scrubber
(koban_geo.privacy.scrub) replaces a candidate only when its check passes, so ordinary numbers survive.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

__all__ = [
    "IBAN_LENGTHS",
    "valid_be_nrn",
    "valid_bsn",
    "valid_dni_nie",
    "valid_hetu",
    "valid_iban",
    "valid_national_id",
    "valid_nif",
    "valid_pesel",
]


_SEPARATORS = str.maketrans("", "", " .-/")


def _compact(value: str) -> str:
    return value.translate(_SEPARATORS).upper()


def _weighted(digits: str, weights: Sequence[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False))


def valid_bsn(value: str) -> bool:
    """Dutch burgerservicenummer: 9 digits passing the 11-proof (weights 9..2, last digit -1)."""
    digits = _compact(value)
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit() or digits == "000000000":
        return False
    return (_weighted(digits, range(9, 1, -1)) - int(digits[8])) % 11 == 0


def valid_nif(value: str) -> bool:
    """Portuguese NIF/NIPC: 9 digits, mod-11 check digit (a remainder of 0 or 1 gives check digit 0)."""
    digits = _compact(value)
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        return False
    if digits[0] not in "12356789" and not digits.startswith("45"):
        return False
    remainder = _weighted(digits, range(9, 1, -1)) % 11
    return int(digits[8]) == (0 if remainder < 2 else 11 - remainder)


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def valid_pesel(value: str) -> bool:
    """Polish PESEL: 11 digits, birth date with the century folded into the month, weighted check digit."""
    digits = _compact(value)
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return False
    year, month, day = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    century = {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 1800}.get(month // 20)
    if century is None or not _real_date(century + year, month % 20, day):
        return False
    check = (10 - _weighted(digits, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)) % 10) % 10
    return check == int(digits[10])


def valid_be_nrn(value: str) -> bool:
    """Belgian national register number: YYMMDD, serial, mod-97 check ('2' prefixed for births from 2000)."""
    digits = _compact(value)
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return False
    base, check = int(digits[:9]), int(digits[9:])
    return check in (97 - base % 97, 97 - (2_000_000_000 + base) % 97)


_HETU_CONTROL = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_HETU_CENTURY = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900}
_HETU_CENTURY.update(dict.fromkeys("ABCDEF", 2000))
_HETU = re.compile(r"([0-9]{6})([-+A-FU-Y])([0-9]{3})([0-9A-Y])")


def valid_hetu(value: str) -> bool:
    """Finnish henkilötunnus DDMMYYCZZZQ: real birth date, century sign, mod-31 control character."""
    match = _HETU.fullmatch(value.strip().upper())
    if not match:
        return False
    born, sign, serial, control = match.groups()
    if not _real_date(_HETU_CENTURY[sign] + int(born[4:6]), int(born[2:4]), int(born[0:2])) or serial < "002":
        return False
    return _HETU_CONTROL[int(born + serial) % 31] == control


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def valid_dni_nie(value: str) -> bool:
    """Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter), letter = number mod 23."""
    text = _compact(value)
    if text[:1] in ("X", "Y", "Z"):
        text = str("XYZ".index(text[0])) + text[1:]
    if len(text) != 9 or not text[:8].isascii() or not text[:8].isdigit():
        return False
    return _DNI_LETTERS[int(text[:8]) % 23] == text[8]


# Lengths of IBANs by country (SWIFT IBAN registry), for the countries of the SEPA area and their neighbours.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AL": 28, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18, "GR": 27,
    "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "MD": 24, "ME": 22, "MK": 19, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "RS": 22,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26, "UA": 29, "VA": 22, "XK": 20,
}  # fmt: skip


def valid_iban(value: str) -> bool:
    """IBAN: known country, that country's length, alphanumeric, and the ISO 7064 mod-97 check equal to 1."""
    text = value.replace(" ", "").replace("-", "").upper()
    if IBAN_LENGTHS.get(text[:2]) != len(text) or not text.isascii() or not text.isalnum():
        return False
    if not text[2:4].isdigit():
        return False
    rearranged = text[4:] + text[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def valid_national_id(candidate: str) -> bool:
    """Dispatch a candidate caught by the national-ID rule to the validators its shape allows."""
    if _HETU.fullmatch(candidate.strip().upper()):
        return valid_hetu(candidate)
    text = _compact(candidate)
    if text[-1:].isalpha():
        return valid_dni_nie(text)
    if len(text) == 9:
        return valid_bsn(text) or valid_nif(text)
    if len(text) == 11:
        return valid_pesel(text) or valid_be_nrn(text)
    return False
