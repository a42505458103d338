"""Scrubbing of personal data from residents' free text: typed placeholders, vectorised RE2, check digits.

Personal data is replaced, never deleted silently, so a scrubbed report still says what the problem is::

    >>> scrub_text("Loud music at Kerkstraat 27b every night, call 06-12345678")
    'Loud music at [ADDRESS] every night, call [PHONE]'

The rules below are the one place where personal data is detected. They run in order over whole Arrow
arrays with `pyarrow.compute.replace_substring_regex` (RE2: linear time, vectorised, releases the GIL); only
rows holding a candidate number with check digits (national IDs, IBANs) go through Python to validate it.
The DuckDB function `koban_scrub(VARCHAR)` (see `register_udf`), the CLI `koban-geo scrub` and ingestion all
call `scrub_texts`. What the rules cannot catch is written down in docs/scrubbing.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import duckdb
import duckdb.func
import pyarrow as pa
import pyarrow.compute as pc

from koban_geo.privacy.checkdigits import (
    IBAN_LENGTHS,
    valid_be_nrn,
    valid_bsn,
    valid_dni_nie,
    valid_hetu,
    valid_iban,
    valid_national_id,
    valid_nif,
    valid_pesel,
)

__all__ = [
    "PLACEHOLDERS",
    "RULES",
    "Rule",
    "register_udf",
    "scrub_lines",
    "scrub_text",
    "scrub_texts",
    "valid_be_nrn",
    "valid_bsn",
    "valid_dni_nie",
    "valid_hetu",
    "valid_iban",
    "valid_nif",
    "valid_pesel",
]

EMAIL, URL, IBAN, ID, PHONE, PLATE, ADDRESS = (
    "[EMAIL]",
    "[URL]",
    "[IBAN]",
    "[ID]",
    "[PHONE]",
    "[PLATE]",
    "[ADDRESS]",
)
PLACEHOLDERS: tuple[str, ...] = (EMAIL, URL, IBAN, ID, PHONE, PLATE, ADDRESS)

# ------------------------------------------------------------------------------------------------------------
# Pattern building blocks. Every pattern is valid for both RE2 (pyarrow, DuckDB) and Python `re`: no
# look-around, no back-references, no \p{..}, [0-9] rather than \d. RE2's \b is ASCII-only (it sees a
# boundary inside "Hämeentie"), so word boundaries are explicit character classes that count Latin letters
# such as ł, ä, ó, ñ as letters: a rule captures the characters before and after its match and writes them
# back around the placeholder.
# ------------------------------------------------------------------------------------------------------------

_LETTERS = "A-Za-zÀ-ɏ"  # Latin letters incl. ł ä ó ñ ç ő ...; other scripts count as non-letters here
_UPPER = "A-ZÀ-ÞĀ-ž"  # capitals (Latin Extended-A mixes cases; close enough for a first letter)
_WORD = _LETTERS + "0-9_"
_LEAD = f"^|[^{_WORD}]"
# After a number, '.', ':' or ',' and a digit continue the number (22.30, 12.03.2024, 1,5): not a boundary.
_TRAIL = f"$|[^{_WORD}.:,]|[.:,](?:$|[^0-9])"

_SEP = r"[ .\-]"  # between groups of digits in a phone number


def _groups(*sizes: int, sep: str = _SEP) -> str:
    return sep.join(f"[0-9]{{{n}}}" for n in sizes)


def _alt(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


def _without(classes: Sequence[str], excluded: Iterable[str], prefix: str = "") -> str | None:
    """Pattern for words with i-th letter in classes[i], except the excluded ones (RE2 has no look-ahead)."""
    if not classes:
        return None if prefix in excluded else ""
    here = {w for w in excluded if w.startswith(prefix) and len(w) == len(prefix) + len(classes)}
    if not here:
        return "".join(f"[{c}]" for c in classes)
    first = {w[len(prefix)] for w in here}
    parts = []
    free = "".join(c for c in classes[0] if c not in first)
    if free:
        parts.append(f"[{free}]" + "".join(f"[{c}]" for c in classes[1:]))
    for letter in sorted(first):
        rest = _without(classes[1:], here, prefix + letter)
        if rest is not None:
            parts.append(letter + rest)
    return _alt(*parts)


_AZ = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CURRENCIES = ("EUR", "PLN", "GBP", "CHF", "CZK", "SEK", "NOK", "DKK", "BGN", "RON", "HUF", "USD")

# --- e-mail and web addresses -------------------------------------------------------------------------------
_LABEL = f"[{_LETTERS}0-9](?:[{_LETTERS}0-9-]*[{_LETTERS}0-9])?"
_AT = r"(?: ?@ ?| ?[\[(](?:at|AT)[\])] ?)"
_DOT = r"(?:\.| ?[\[(](?:dot|DOT)[\])] ?)"
_EMAIL = f"[{_LETTERS}0-9._%+-]+{_AT}{_LABEL}(?:{_DOT}{_LABEL})*{_DOT}[{_LETTERS}]{{2,}}"

_URL_CHAR = r"[^\s<>\"'\[\]{}|]"
_URL_END = r"[^\s<>\"'\[\]{}|.,;:!?()]"
_TLDS = "nl|be|pl|fi|es|pt|uk|eu|com|org|net|info|io|de|fr|gov|edu|app"
_URL = _alt(
    rf"(?:[Hh][Tt][Tt][Pp][Ss]?://|[Ff][Tt][Pp]://|[Ww][Ww][Ww]\.){_URL_CHAR}*{_URL_END}",
    # bare domains: a known lower-case TLD, so "slecht.De buren" (missing space) is not a web address
    rf"{_LABEL}(?:\.{_LABEL})*\.(?:{_TLDS})(?:/(?:{_URL_CHAR}*{_URL_END})?)?",
)


# --- IBAN: one alternative per length, so the candidate ends where the country's IBAN ends ------------------
def _iban_pattern() -> str:
    by_length: dict[int, list[str]] = {}
    for country, length in sorted(IBAN_LENGTHS.items()):
        by_length.setdefault(length, []).append(country)
    parts = []
    for length, countries in sorted(by_length.items(), reverse=True):
        full, rest = divmod(length - 4, 4)
        body = f"(?:[ -]?[0-9A-Za-z]{{4}}){{{full}}}" + (f"[ -]?[0-9A-Za-z]{{{rest}}}" if rest else "")
        # lower case too ("nl91abna..."): people type IBANs as they read them
        codes = "|".join(f"[{c[0]}{c[0].lower()}][{c[1]}{c[1].lower()}]" for c in countries)
        parts.append(f"(?:{codes})[0-9]{{2}}{body}")
    return _alt(*parts)


# --- national identity numbers (shapes only; the validators decide) -----------------------------------------
_NATIONAL_ID = _alt(
    r"[0-9]{6}[-+A-FU-Ya-fu-y][0-9]{3}[0-9A-Ya-y]",  # FI henkilötunnus
    r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}[-. ][0-9]{3}[-. ][0-9]{2}",  # BE 85.07.30-033.28
    r"[0-9]{6}[-. ][0-9]{3}[-. ][0-9]{2}",  # BE 850730-033-28
    r"[0-9]{2}\.[0-9]{3}\.[0-9]{3}[ -]?[A-Za-z]",  # ES DNI 12.345.678-Z
    r"[0-9]{8}[ -]?[A-Za-z]",  # ES DNI
    r"[XYZxyz][ -]?[0-9]{7}[ -]?[A-Za-z]",  # ES NIE
    r"[0-9]{11}",  # PL PESEL, BE national register number
    r"[0-9]{6} [0-9]{5}",  # PL PESEL as birth date and serial: 440514 01359
    r"[0-9]{4}\.[0-9]{2}\.[0-9]{3}",  # NL BSN 1234.56.782
    r"[0-9]{3}[ .\-][0-9]{3}[ .\-][0-9]{3}",  # NL BSN / PT NIF grouped: 111 222 333, 111-222-333
    r"[0-9]{9}",  # NL BSN, PT NIF
)

# --- phone numbers ------------------------------------------------------------------------------------------
# International: +CC or 00CC, an optional (0), then the national significant number with single separators.
_INTL_STEP = r"(?:(?:[ .\-/]|\) ?| ?\()?[0-9])"
_TRUNK_ZERO = r"(?:[ .\-]?\(0\))?"  # +31 (0)6 ...


def _country(codes: str) -> str:
    """+CC or 00CC, also in brackets: (+31)."""
    return rf"(?:(?:\+|00)(?:{codes})|\((?:\+|00)(?:{codes})\))"


_PHONE_INTL = _alt(
    rf"{_country('31|34|351|33|48')}{_TRUNK_ZERO}{_INTL_STEP}{{9}}",
    rf"{_country('32')}{_TRUNK_ZERO}{_INTL_STEP}{{8,9}}",
    rf"{_country('44')}{_TRUNK_ZERO}{_INTL_STEP}{{9,10}}",
    rf"{_country('358|49')}{_TRUNK_ZERO}{_INTL_STEP}{{6,12}}",
    rf"(?:\+[1-9][0-9]{{0,2}}|\(\+[1-9][0-9]{{0,2}}\)){_TRUNK_ZERO}{_INTL_STEP}{{6,12}}",
)
# National with a trunk 0 (NL, BE, FI, UK): an area code of 1-4 digits after the 0, then the rest in the usual
# groupings.
_REST = {
    8: _alt(
        _groups(8), _groups(4, 4), _groups(2, 2, 2, 2), _groups(3, 3, 2), _groups(2, 3, 3), _groups(3, 2, 3)
    ),
    7: _alt(_groups(7), _groups(3, 4), _groups(3, 2, 2), _groups(4, 3), _groups(2, 2, 3)),
    6: _alt(_groups(6), _groups(3, 3), _groups(2, 2, 2)),
}
_AREA_SEP = r"(?:[ .\-/]| ?[\-/] )?"


def _area(digits: int) -> str:
    return rf"(?:\(0[0-9]{{{digits}}}\) ?|0[0-9]{{{digits}}}{_AREA_SEP})"


# Longest first: RE2, like Perl, takes the first alternative that matches, not the longest one.
_PHONE_TRUNK = _alt(
    _area(4) + _REST[6],  # 11 digits: UK 07700 900123, 01632 960123
    _area(3) + _REST[7],  # UK 0161 496 0000
    _area(2) + _REST[8],  # UK 020 7946 0958
    _area(3) + _REST[6],  # 10 digits: NL 0512 345678, BE 0470 12 34 56
    _area(2) + _REST[7],  # NL 010 123 4567, FI 040 1234567
    _area(1) + _REST[8],  # NL 06-12345678, FI 09 1234 5678
    _area(2) + _REST[6],  # 9 digits: BE 050 12 34 56
    _area(1) + _REST[7],  # BE 02/123.45.67
)
# PL, ES, PT: nine digits without a trunk 0.
_PHONE_NINE = _alt(
    "[2-9][0-9]{2}" + _SEP + _groups(3, 3),  # PL 512 345 678, ES 912 345 678, PT 912 345 678
    "[2-9][0-9]{2}" + _SEP + _groups(2, 2, 2),  # ES 612 34 56 78
    r"\(?[1-9][0-9]\)?" + _SEP + _groups(3, 2, 2),  # PL (22) 123 45 67, ES 91 123 45 67
    "2[0-9]" + _SEP + _groups(3, 4),  # PT 21 234 5678
    "[2-9][0-9]{8}",
)

# --- vehicle registration plates (upper case, as printed) ---------------------------------------------------
_L, _D = "[A-Z]", "[0-9]"
_PLATE = _alt(
    # NL sidecodes 1-6 and PT (AA-12-BB, 12-AB-34, 12-34-AB, AA-12-34): three pairs, letters and digits mixed
    f"{_L}{_L}-(?:{_D}{_D}-(?:{_D}{_D}|{_L}{_L})|{_L}{_L}-{_D}{_D})",
    f"{_D}{_D}-(?:{_D}{_D}-{_L}{_L}|{_L}{_L}-(?:{_D}{_D}|{_L}{_L}))",
    # NL sidecodes 7-14 (12-ABC-3, 1-ABC-23, AB-123-C, A-123-BC, ABC-12-D, A-12-BCD, 1-AB-234, 123-AB-4)
    f"{_D}{{2}}-{_L}{{3}}-{_D}",
    f"{_D}-{_L}{{3}}-{_D}{{2}}",
    f"{_L}{{2}}-{_D}{{3}}-{_L}",
    f"{_L}-{_D}{{3}}-{_L}{{2}}",
    f"{_L}{{3}}-{_D}{{2}}-{_L}",
    f"{_L}-{_D}{{2}}-{_L}{{3}}",
    f"{_D}-{_L}{{2}}-{_D}{{3}}",
    f"{_D}{{3}}-{_L}{{2}}-{_D}",
    # BE 1-ABC-234 (also without dashes) and old BE / FI ABC-123
    f"{_D}-?{_L}{{3}}-?{_D}{{3}}",
    f"{_L}{{3}}-{_D}{{1,3}}",
    # PL: district code (2-3 letters, the first one a voivodeship) and 4-5 characters
    "[BCDEFGKLNOPRSTWZ][A-Z] ?"
    + _alt("[0-9]{5}", "[0-9]{4}[A-Z]", "[0-9]{3}[A-Z]{2}", "[A-Z][0-9]{3}[A-Z0-9]", "[A-Z]{2}[0-9]{3}",
           "[0-9][A-Z][0-9]{3}", "[0-9][A-Z]{2}[0-9]{2}"),
    "[BCDEFGKLNOPRSTWZ][A-Z]{2} ?"
    + _alt("[0-9]{3}[A-Z]", "[A-Z][0-9]{3}", "[0-9]{2}[A-Z]{2}", "[0-9][A-Z][0-9]{2}", "[0-9]{2}[A-Z][0-9]",
           "[0-9][A-Z]{2}[0-9]", "[A-Z]{2}[0-9]{2}", "[0-9]{4}[A-Z]", "[0-9]{3}[A-Z]{2}", "[A-Z][0-9]{4}"),
    str(_without(["BCDEFGKLNOPRSTWZ", _AZ, _AZ], _CURRENCIES)) + " ?[0-9]{5}",
    # ES 1234 BCD (consonants only; not 1500 PLN) and provincial M-1234-AB
    "[0-9]{4}[ -]?" + str(_without(["BCDFGHJKLMNPRSTVWXYZ"] * 3, _CURRENCIES)),
    f"{_L}{{1,2}}-{_D}{{4}}-{_L}{{1,2}}",
    # UK AB12 CDE, prefix A123 BCD, suffix ABC 123D
    f"{_L}{{2}}{_D}{{2}} ?{_L}{{3}}",
    f"{_L}{_D}{{1,3}} {_L}{{3}}",
    f"{_L}{{3}} {_D}{{1,3}}{_L}",
)  # fmt: skip


# --- street addresses with a house number -------------------------------------------------------------------
def _words(words: str) -> str:
    """Alternation of words whose first letter may be either case ("rue", "Rue"): cheaper in RE2 than (?i)."""
    return _alt(
        *(f"[{w[0].upper()}{w[0].lower()}]{w[1:]}" if w[0].isalpha() else w for w in words.split("|"))
    )


_CAPWORD_BARE = f"(?:[dDlL]['’])?[{_UPPER}][{_LETTERS}'’-]*"
_CAPWORD = _CAPWORD_BARE + "\\.?"  # "Dr." "St." inside a name
_PARTICLE = _words(
    "de|del|della|la|las|los|el|y|da|do|das|dos|e|des|du|le|les|van|von|der|den|het|'t|ter|ten|of|the"
)
# A street name: capitalised words with particles between them ("de la", "van", "dos"); PL "3 Maja" allowed.
_NAME = f"(?:[0-9]{{1,2}} )?{_CAPWORD}(?: (?:{_PARTICLE} )*{_CAPWORD})*"
_SIDE = _words(
    "esquerdo|esq|direito|dto|dt|dir|dcha|dcho|derecha|der|izquierda|izqda|izda|izq|frente|fte|centro"
)
_HOUSE = (
    r"(?:[Nn](?:\.?[º°o]|r|o)\.? ?)?[0-9]{1,4}"
    r"(?:[A-Za-z]{1,2}|[-/][0-9]{1,4}[A-Za-z]?|-(?:[A-Za-z]{1,3}|I{1,3}|IV))?"
    # flat, staircase, box, floor: 27 B, 12 B 34, 5 as. 3, 27 bus 3, 3 m. 4, 123, 2º, 110 3ºEsq
    r"(?: (?:bis|ter|hs|[A-Z](?: ?[0-9]{1,3})?)| as\.? ?[0-9]{1,3}| bus [0-9]{1,4}[A-Za-z]?"
    r"| (?:m|lok|mieszk)\. ?[0-9]{1,4}"
    rf"|,? ?[0-9]{{1,2}}\.? ?[ºª°](?: ?-? ?(?:{_SIDE}\.?|[A-Z]))?)?"
)
# Dutch and Finnish: the street type ends one word ("Kerkstraat", "KERKSTRAAT", "kerkstraat"); endings that
# also end ordinary words need a capital first letter ("Stationsweg", not "onderweg").
_NL_FI_DISTINCT = (
    "straat|laan|gracht|kade|singel|dijk|steeg|plein|dreef|plantsoen|burgwal|"
    "katu|kuja|polku|raitti|väylä|tie|puistikko|aukio|bulevardi|esplanadi|"
    "straße|strasse|gasse|platz"  # German-speaking Belgium
)
_NL_FI_AMBIGUOUS = "weg|pad|hof|wal|baan|markt|park|veld|haven|hoven|erf|rinne|ranta|kaari|tori"
_NL_FI_PREFIX = (
    "(?:(?:Burgemeester|Burg\\.|Dokter|Dr\\.|Professor|Prof\\.|Generaal|Gen\\.|Koningin|Koning|Prins|Prinses|"
    "Graaf|Gravin|Hertog|Pastoor|President|Sint|St\\.|Van|Grote|Kleine|Oude|Nieuwe|Lange|Korte|Hoge|Lage|Eerste|"
    "Tweede|Derde|Pohjoinen|Eteläinen|Itäinen|Läntinen|Vanha|Uusi|Iso|Pieni) "
    "(?:(?:van|de|der|den|het|ter|ten) )*"
    f"|[{_UPPER}][{_LETTERS}]+ van (?:(?:der|den|de|het) )?)?"
)
_ADDRESS_SUFFIX = (
    _NL_FI_PREFIX
    + _alt(
        f"[{_LETTERS}][{_LETTERS}-]*(?:{_NL_FI_DISTINCT}|{_NL_FI_DISTINCT.upper()})",
        f"[{_UPPER}][{_LETTERS}-]*(?:{_NL_FI_AMBIGUOUS})",
        f"[{_LETTERS}][{_LETTERS}-]*(?:str|STR)\\.",  # NL and German-speaking BE: "Kerkstr. 27"
        # "Grote Markt 1"; a bare "Markt 2" or "Dam 2" is too often a count ("op de Dam 2 mensen")
        "(?:Grote|Kleine|Oude|Nieuwe|Lange|Korte|Hoge|Lage) (?:Markt|Plein|Dam|Kade|Singel|Brink|Ring|Wal)",
    )
    + f" {_HOUSE}"
)
# Street type first, then the name, then the number (BE-fr, ES, PT, PL, NL "Laan van ...").
_TYPE_WORDS = _words(
    "rue|avenue|boulevard|chaussée|chaussee|chemin|allée|allee|impasse|quai|drève|rond-point|sentier|venelle|"
    "calle|avenida|plaza|paseo|camino|carretera|ronda|travesía|travesia|glorieta|vía|pasaje|callejón|carrer|"
    "avinguda|rambla|passeig|"
    "rua|travessa|largo|praça|praca|praceta|estrada|calçada|calcada|beco|rotunda|alameda|azinhaga|"
    "ulica|ulicy|aleja|alei|aleje|osiedle|osiedlu|plac|placu|rondo|skwer|bulwar|"
    "laan|plein|kade|singel|gracht|dreef|steeg|markt|dijk"
)
_TYPE_ABBREVIATIONS = _words("av|avda|avd|bd|bld|pza|pl|ctra|urb|r|tv|trav|ul|al|os|c")
_TYPE_FIRST = (
    f"(?:{_TYPE_WORDS} |(?:Place|Square) |{_TYPE_ABBREVIATIONS}\\. ?|(?:[Cc]|[Pp][º°])/ ?)"
    f"(?:{_PARTICLE} )*{_NAME},? {_HOUSE}"
)
# Number first: UK "14 Harrow Road", "Flat 3, 221B Baker Street"; French "12 rue des Lilas".
_UK_TYPES = (
    "Road|Street|Avenue|Lane|Close|Drive|Way|Place|Crescent|Gardens|Grove|Terrace|Court|Square|Hill|Row|Mews|"
    "Walk|Parade|Green|Park|Rise|View|Vale|Wharf|Yard|Gate|Circus|Broadway|Boulevard|Embankment|Quay|"
    "(?:Rd|St|Ave|Ln|Dr|Pl|Cres|Gdns|Ct|Sq)\\.?"
)
_FR_TYPES = _words(
    "rue|avenue|av.|boulevard|bd|chaussée|chaussee|chemin|allée|allee|impasse|quai|place|square|drève|cours|"
    "rond-point|sentier|venelle|route"
).replace(".", "\\.")
# Polish streets are often written without "ul.": an adjective-like name ("Długa", "Łódzka", "Mickiewicza")
# caught only with a flat after the number ("5/3", "12 m. 4"), which ordinary counts never have.
_PL_BARE = (
    f"[{_UPPER}][{_LETTERS}]*(?:a|e|i|y|ej|ego) [0-9]{{1,3}}[A-Za-z]?"
    r"(?:/[0-9]{1,4}[A-Za-z]?| (?:m|lok|mieszk)\. ?[0-9]{1,4})"
)
# Words of that shape that number things, not streets: "strona 5/10" is page 5 of 10.
_PL_NOT_STREETS = frozenset(
    [
        "strona",
        "linia",
        "klasa",
        "grupa",
        "runda",
        "strefa",
        "wersja",
        "sekcja",
        "pozycja",
        "tabela",
        "liga",
        "faza",
        "etap",
        "skala",
        "ocena",
        "część",
        "godzina",
        "lekcja",
        "sala",
        "seria",
        "edycja",
        "kolejka",
        "trasa",
        "brama",
        "klatka",
    ]
)


def _pl_street(candidate: str) -> bool:
    return candidate.split(" ", 1)[0].casefold() not in _PL_NOT_STREETS


_NUMBER_FIRST = _alt(
    f"(?:{_words('flat|apartment|apt|unit')}\\.? [0-9]{{1,4}}[A-Za-z]?,? )?[0-9]{{1,4}}[A-Za-z]?"
    f"(?:-[0-9]{{1,4}}[A-Za-z]?)?,? (?:[{_UPPER}][{_LETTERS}'’-]* ){{1,3}}(?:{_UK_TYPES})",
    # the name has no number after it to end on: at most three words, so the rest of the sentence stays
    f"[0-9]{{1,4}}(?: ?(?:bis|ter)|[A-Za-z])?,? {_FR_TYPES} (?:{_PARTICLE} ){{0,2}}{_CAPWORD_BARE}"
    f"(?: (?:{_PARTICLE} ){{0,2}}{_CAPWORD_BARE}){{0,2}}",
)


# ------------------------------------------------------------------------------------------------------------
# Rules and the engine
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One kind of personal data. The RE2 pattern's groups are (lead)(match)(trail).

    `lead` and `trail` are the characters allowed just before and after a match: RE2 has no look-around, so
    they are matched and written back around the placeholder. An optional `validator` decides, per candidate,
    whether it is personal data.
    """

    name: str
    core: str
    placeholder: str
    validator: Callable[[str], bool] | None = None
    lead: str = _LEAD
    trail: str = _TRAIL
    pattern: str = field(init=False)
    replacement: str = field(init=False)
    checker: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", f"({self.lead})({self.core})({self.trail})")
        object.__setattr__(self, "replacement", rf"\1{self.placeholder}\3")
        # Python's re has look-ahead: the trail is not consumed, so adjacent candidates are seen in one pass.
        object.__setattr__(self, "checker", re.compile(f"({self.lead})({self.core})(?={self.trail})"))

    def sub_valid(self, text: str) -> str:
        """Python path for rules with a validator: replace only the candidates that pass it."""
        validator = self.validator
        assert validator is not None

        def replace(match: re.Match[str]) -> str:
            return match.group(1) + self.placeholder if validator(match.group(2)) else match.group(0)

        return self.checker.sub(replace, text)


RULES: tuple[Rule, ...] = (
    Rule("email", _EMAIL, EMAIL, lead="", trail=""),
    Rule("url", _URL, URL),
    Rule("iban", _iban_pattern(), IBAN, valid_iban),
    # before the IDs: "+351 912 345 678" is a phone number even when 912345678 is also a valid NIF
    Rule("phone_international", _PHONE_INTL, PHONE),
    Rule("national_id", _NATIONAL_ID, ID, valid_national_id),
    Rule("phone", _alt(_PHONE_TRUNK, _PHONE_NINE), PHONE),
    Rule("plate", _PLATE, PLATE),
    Rule("address", _alt(_ADDRESS_SUFFIX, _TYPE_FIRST, _NUMBER_FIRST), ADDRESS),
    Rule("address_pl", _PL_BARE, ADDRESS, _pl_street),
)

# Rows without any of these hold nothing the rules catch: most reports are skipped after one cheap search.
_TRIGGER = r"[0-9@]|[Ww][Ww][Ww]\.|://|[\[(](?:at|AT)[\])]|\.(?:" + _TLDS + ")"


def _as_string_array(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), type=pa.string())
    if pa.types.is_string_view(values.type):
        values = values.cast(pa.string())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise TypeError(f"scrub_texts needs strings, got an array of {values.type}")
    return values


def _hits(values: pa.Array, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False)


def _apply(values: pa.Array, rule: Rule) -> pa.Array:
    if rule.validator is not None:
        hit = _hits(values, rule.pattern)
        if not pc.any(hit).as_py():
            return values
        rows = values.filter(hit).to_pylist()
        return pc.replace_with_mask(
            values, hit, pa.array([rule.sub_valid(s) for s in rows], type=values.type)
        )
    once = pc.replace_substring_regex(values, rule.pattern, rule.replacement)
    changed = pc.fill_null(pc.not_equal(once, values), False)
    if not pc.any(changed).as_py():
        return values
    # A second pass where something was replaced and a candidate is left: a match consumes the character
    # after it, which may be the lead of the next match ("06-12345678/06-87654321", "Kerkstraat 1, Laan 2").
    # Matching first is cheaper than replacing: this runs once per 2048 rows inside DuckDB.
    rows = once.filter(changed)
    if pc.any(_hits(rows, rule.pattern)).as_py():
        rows = pc.replace_substring_regex(rows, rule.pattern, rule.replacement)
    return pc.replace_with_mask(once, changed, rows)


def _scrub(array: pa.Array) -> pa.Array:
    todo = _hits(array, _TRIGGER)
    if not pc.any(todo).as_py():
        return array
    rows = array.filter(todo)
    for rule in RULES:
        rows = _apply(rows, rule)
    return pc.replace_with_mask(array, todo, rows)


# Large inputs are cut into one slice per core: pyarrow's regex kernels release the GIL.
_SLICE_MIN = 100_000


def scrub_texts(values: pa.Array | pa.ChunkedArray | Iterable[str | None]) -> pa.Array:
    """Scrubbed copy of an Arrow string array (or a list of str/None): nulls stay null, order is kept."""
    array = _as_string_array(values)
    workers = min(os.cpu_count() or 1, len(array) // _SLICE_MIN)
    if workers < 2:
        return _scrub(array)
    size = -(-len(array) // workers)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(_scrub, (array.slice(start, size) for start in range(0, len(array), size))))
    return pa.concat_arrays(parts)


def scrub_text(text: str) -> str:
    """Scrub one text; see `scrub_texts`."""
    result = scrub_texts(pa.array([text], type=pa.string()))[0].as_py()
    return result if result is not None else text


def scrub_lines(lines: Iterable[str], batch: int = 10_000) -> Iterator[str]:
    """Scrub a stream of lines in batches (the CLI `koban-geo scrub`); line endings pass through unchanged."""
    pending: list[str] = []
    for line in lines:
        pending.append(line)
        if len(pending) >= batch:
            yield from scrub_texts(pending).to_pylist()
            pending = []
    if pending:
        yield from scrub_texts(pending).to_pylist()


def _udf(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    return scrub_texts(values)


def register_udf(con: duckdb.DuckDBPyConnection) -> None:
    """Make `koban_scrub(VARCHAR) -> VARCHAR` available on this connection (safe to call more than once)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'koban_scrub'"
    ).fetchone()
    if exists and exists[0]:
        return
    con.create_function(
        "koban_scrub",
        _udf,
        [duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("VARCHAR"),
        type=duckdb.func.ARROW,
        null_handling=duckdb.func.SPECIAL,
        side_effects=False,
    )
