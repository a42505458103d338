"""The words of the demo's synthetic reports: short resident reports in Finnish, Swedish or English from
data/demo/report_phrases.json, naming a real street (Finnish street names put in the adessive case)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import numpy as np

from koban_geo.ops.demo_geo import Geo, demo_dir

_LANGS, _LANG_P = ("fi", "sv", "en"), (0.8, 0.1, 0.1)


@cache
def _phrases() -> dict[str, Any]:
    phrases: dict[str, Any] = json.loads((demo_dir() / "report_phrases.json").read_text(encoding="utf-8"))
    return phrases


# Finnish street names in the adessive ("on the street"): by the last word's ending, adjectives agreeing.
# fmt: off
_ADESSIVE_ENDINGS = (
    ("puistikko", "puistikossa"), ("esplanadi", "esplanadilla"), ("käytävä", "käytävällä"),
    ("pasaasi", "pasaasissa"), ("tunneli", "tunnelissa"), ("penger", "penkereellä"), ("aukio", "aukiolla"),
    ("katu", "kadulla"), ("kuja", "kujalla"), ("ranta", "rannalla"), ("tori", "torilla"), ("tie", "tiellä"),
    ("piha", "pihalla"), ("kärki", "kärjessä"), ("putki", "putkessa"), ("silta", "sillalla"),
    ("bulevardi", "bulevardilla"), ("baana", "baanalla"),
)
_ADESSIVE_WORDS = {
    "Pieni": "Pienellä", "Vanha": "Vanhalla", "Eteläinen": "Eteläisellä", "Pohjoinen": "Pohjoisella",
    "Läntinen": "Läntisellä", "Itäinen": "Itäisellä", "Pitkäsilta": "Pitkälläsillalla",
}
# fmt: on


def fi_adessive(street: str) -> str:
    """'Unioninkatu' -> 'Unioninkadulla', 'Pieni Roobertinkatu' -> 'Pienellä Roobertinkadulla'."""
    words = street.split(" ")
    if words[-1] in _ADESSIVE_WORDS:
        words[-1] = _ADESSIVE_WORDS[words[-1]]
    else:
        lower = words[-1].lower()
        for ending, replacement in _ADESSIVE_ENDINGS:
            if lower.endswith(ending):
                stem = words[-1][: len(words[-1]) - len(ending)]
                capital = not stem and words[-1][0].isupper()
                words[-1] = stem + (replacement.capitalize() if capital else replacement)
                break
        else:
            return f"kohteessa {street}"
    words[:-1] = [_ADESSIVE_WORDS.get(w, w) for w in words[:-1]]
    return " ".join(words)


def _en_on(street: str) -> str:
    return f"at {street}" if street.lower().endswith(("tori", "aukio", "ranta", "piha")) else f"on {street}"


class Writer:
    """Short resident reports in Finnish, Swedish or English, matching the theme and naming the street."""

    def __init__(self, rng: np.random.Generator, geo: Geo) -> None:
        self.rng, self.geo, self.p = rng, geo, _phrases()

    def _one(self, options: list[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def language(self) -> str:
        return _LANGS[int(self.rng.choice(3, p=_LANG_P))]

    def core(self, theme: str, lang: str, emerging: bool = False) -> str:
        bank = self.p["emerging"] if emerging else self.p["themes"][theme]
        return self._one(bank[lang])

    def fill(self, template: str, street: int) -> str:
        fi, sv = self.geo.street_fi[street], self.geo.street_sv[street]
        fictional = self.p["fictional"]
        email = f"{self._one(fictional['first_names'])}.{self._one(fictional['last_names'])}"
        letters = "".join(chr(65 + int(c)) for c in self.rng.integers(0, 26, 3))
        return template.format(
            on=fi_adessive(fi),
            katu=fi,
            pa=f"på {sv}",
            gata=sv,
            street_on=_en_on(fi),
            nro=int(self.rng.integers(1, 40)),
            flat=int(self.rng.integers(1, 60)),
            phone=self._one(fictional["phones"]),
            email=f"{email}@{self._one(fictional['mail_domains'])}",
            plate=f"{letters}-{int(self.rng.integers(1, 1000))}",
        )

    def report(
        self, core: str, lang: str, street: int, *, personal: bool = False, repeat: bool = False
    ) -> str:
        text = self._one(self.p["repeat" if repeat else "openers"][lang]) + core
        closer = self._one(self.p["closers"][lang])
        if closer:
            text += " " + closer
        if personal:
            text += " " + self._one(self.p["personal"][lang])
        return self.fill(text, street)
