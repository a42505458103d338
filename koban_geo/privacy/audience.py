"""Audience tiers: the one gate every output (map layer, table, export, meeting screen) passes through.

    public   meeting screen, residents' phones, public exports   aggregates only, k-suppressed, no sensitive themes
    council  council exports                                     the same rules as public
    officer  officers' map and problem work                      snapped points and scrubbed text; sensitive flagged
    analyst  hotspot checking                                    as officer

For public and council a table must hold counts (never a point, never free text); rows of sensitive
themes are dropped before anything is counted; counts under k are hidden, and complementary suppression
hides further cells until what is hidden in any group sums to at least k, so a hidden count cannot be
recovered by subtracting shown cells from a shown total. Totals come from the same call, never elsewhere.

Every shown count of a public or council table is perturbed by the cell key method (koban_geo.privacy.cellkey):
the table must carry each row's cell key (the sum of its records' keys mod 256, from the same query as the
count) or `release` refuses it, so no public output can skip the noise. The same records always give the same
value, so two outputs that differ by a hidden count no longer give it by subtraction; suppression is decided
on the true counts, and the cell key column never leaves `release`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from koban_geo.privacy.cellkey import MAX_NOISE, PerturbationTable, perturb, perturbation_table
from koban_geo.store.i18n import N_, gettext
from koban_geo.store.settings import Settings
from koban_geo.store.taxonomy import sensitive_codes

if TYPE_CHECKING:  # pandas is loaded by `release`, not by every import of the tiers (the CLI starts faster)
    import pandas as pd

TEXT_COLUMNS = frozenset({"description", "text", "example", "examples", "kuvaus", "omschrijving"})
RECORD_COLUMNS = frozenset({"id", "source", "reported_at", "batch_id"})


class Audience(StrEnum):
    PUBLIC = "public"
    COUNCIL = "council"
    OFFICER = "officer"
    ANALYST = "analyst"

    @property
    def aggregates_only(self) -> bool:
        return self in (Audience.PUBLIC, Audience.COUNCIL)


class PrivacyError(ValueError):
    """An output would break its audience's rules; nothing is released."""


# The precision note every output carries: {grid} and {sensitive_grid} in metres, {k} the smallest count shown.
PRECISION_NOTES = {
    "aggregate": N_(
        "Locations snapped to a {grid} m grid; times rounded to the hour; areas or cells with fewer than {k} "
        "reports are hidden; sensitive themes are not shown."
    ),
    "detail": N_(
        "Locations snapped to a {grid} m grid ({sensitive_grid} m for sensitive themes, which are flagged); "
        "times rounded to the hour; texts scrubbed of personal data."
    ),
}


@dataclass(frozen=True)
class Policy:
    audience: Audience
    k: int
    grid_m: int
    sensitive_grid_m: int

    @classmethod
    def for_audience(cls, audience: Audience | str, settings: Settings) -> Policy:
        return cls(Audience(audience), max(settings.k_min, 3), settings.grid_m, settings.sensitive_grid_m)

    def allowed_themes(self, themes: Collection[str]) -> list[str]:
        """The theme codes this audience may see, for binding into aggregation queries."""
        hidden = sensitive_codes() if self.audience.aggregates_only else frozenset()
        return [t for t in themes if t not in hidden]

    def precision_note(self, lang: str = "en") -> str:
        kind = "aggregate" if self.audience.aggregates_only else "detail"
        template = gettext(PRECISION_NOTES[kind], lang)
        return template.format(grid=self.grid_m, sensitive_grid=self.sensitive_grid_m, k=self.k)

    def parameters(self) -> dict[str, Any]:
        """What an export's metadata states about how it was protected."""
        params = {"audience": str(self.audience), "k": self.k, "grid_m": self.grid_m,
                  "sensitive_grid_m": self.sensitive_grid_m,
                  "sensitive_themes": "removed" if self.audience.aggregates_only else "flagged"}  # fmt: skip
        if self.audience.aggregates_only:
            params["perturbation"] = {"method": "cell key", "max_noise": MAX_NOISE,
                                      "variance": round(perturbation_table(self.k).variance(self.k + MAX_NOISE), 3)}  # fmt: skip
        return params


@dataclass
class Release:
    """What an audience may see: the rows, the totals per group, and the note to show with them."""

    frame: pd.DataFrame
    policy: Policy
    totals: dict[str, pd.DataFrame] = field(default_factory=dict)
    suppressed: int = 0

    def note(self, lang: str = "en") -> str:
        return self.policy.precision_note(lang)


def release(
    frame: pd.DataFrame,
    audience: Audience | str,
    settings: Settings,
    *,
    count: str = "count",
    key: str = "ckey",
    groups: Sequence[str] = (),
    theme: str | None = "theme",
    themes_counted: Collection[str] | None = None,
) -> Release:
    """Apply the audience's rules to one output table.

    frame: one row per cell/area/point; `count` the number of concerns in the row (aggregate outputs) and,
      for public and council, `key` its cell key 0..255 (koban_geo.privacy.cellkey); the key column is
      dropped from what is released (with it and the public table anyone could undo the noise).
    groups: columns whose groups have a total that may be shown (e.g. ["area_code"] for an area x theme
      table: each area's total is published, so complementary suppression runs within each area, and a
      grand total is implied). Totals are returned in Release.totals, already suppressed.
    theme: the theme column, if the rows are per theme; else `themes_counted` must list the themes the
      counts include, so that a public count can never contain a sensitive theme.
    """
    import pandas as pd

    policy = Policy.for_audience(audience, settings)
    out = frame.copy()
    sensitive = sensitive_codes()
    if not policy.audience.aggregates_only:
        if theme and theme in out:
            out["sensitive"] = out[theme].isin(sensitive)
        return Release(out, policy)

    _check_aggregate(out, count, key)
    if theme and theme in out:
        out = out[~out[theme].isin(sensitive)].reset_index(drop=True)
    elif themes_counted is None or set(themes_counted) & sensitive:
        raise PrivacyError(
            f"a {policy.audience} table without a theme column must say which themes it counts, none sensitive"
        )
    table = perturbation_table(policy.k)
    hidden = _suppress(out, count, groups, policy.k)
    totals = _totals(out, count, key, groups, table)
    shown = perturb(out[count].fillna(0).to_numpy(dtype="int64"), out[key].to_numpy(dtype="int64"), table)
    out[count] = pd.array(shown, dtype="Int64")
    out[count] = out[count].where(~hidden, None)
    out = out.drop(columns=[key])
    out["suppressed"] = hidden
    return Release(out, policy, totals=totals, suppressed=int(hidden.sum()))


def _check_aggregate(frame: pd.DataFrame, count: str, key: str) -> None:
    if count not in frame:
        raise PrivacyError(f"public and council outputs hold counts only: no {count!r} column")
    if key not in frame:
        raise PrivacyError(
            f"public and council counts are perturbed by their cell keys: no {key!r} column beside {count!r}"
        )
    keys = frame[key]
    if keys.isna().any() or ((keys < 0) | (keys > 255)).any():
        raise PrivacyError(f"cell keys are 0..255, one per row: {key!r} holds missing or other values")
    banned = (set(frame.columns) & (TEXT_COLUMNS | RECORD_COLUMNS)) - {count, key}
    if banned:
        raise PrivacyError(f"public and council outputs never hold free text or records: {sorted(banned)}")
    for column in frame.columns:
        values = frame[column].dropna()
        if len(values) and getattr(values.iloc[0], "geom_type", None) in ("Point", "MultiPoint"):
            raise PrivacyError(f"public and council outputs never hold points: column {column!r}")


def _suppress(frame: pd.DataFrame, count: str, groups: Sequence[str], k: int) -> pd.Series:
    """Primary suppression (0 < n < k), then complementary: in every published group, and in the table as a
    whole, what is hidden must be nothing or sum to at least k; else hide the next smallest shown cell."""
    import pandas as pd

    counts = frame[count].fillna(0).astype(int)
    hidden = (counts > 0) & (counts < k)
    partitions = [list(groups)] if groups else []
    partitions.append([])  # the grand total is always implied by summing what is shown
    changed = True
    while changed:
        changed = False
        for keys in partitions:
            blocks = (
                list(frame.groupby(keys, sort=False, dropna=False).indices.values())
                if keys
                else [frame.index]
            )
            for index in blocks:
                in_group = frame.index[index] if keys else pd.Index(index)
                lost = counts[in_group][hidden[in_group]].sum()
                if lost == 0 or lost >= k:
                    continue
                candidates = counts[in_group][~hidden[in_group] & (counts[in_group] > 0)]
                if candidates.empty:
                    continue  # every non-zero cell is hidden already; the group total is hidden by _totals
                hidden[candidates.idxmin()] = True
                changed = True
    return hidden


def _totals(
    frame: pd.DataFrame, count: str, key: str, groups: Sequence[str], table: PerturbationTable
) -> dict[str, pd.DataFrame]:
    """Group totals and the grand total, each hidden (None) when under k, else perturbed with its own cell
    key: the sum of its rows' keys (= of its records' keys) mod 256."""
    import pandas as pd

    k = table.k

    result: dict[str, pd.DataFrame] = {}
    if groups:
        sums = frame.groupby(list(groups), sort=True, dropna=False)[[count, key]].sum().reset_index()
        n = sums[count].to_numpy(dtype="int64")
        values = pd.Series(perturb(n, sums[key].to_numpy(dtype="int64") % 256, table), dtype="Int64")
        sums[count] = values.where((n == 0) | (n >= k), None)
        result[",".join(groups)] = sums.drop(columns=[key])
    grand = np.array([int(frame[count].sum())], dtype="int64")
    grand_key = np.array([int(frame[key].sum()) % 256], dtype="int64")
    value = pd.Series(perturb(grand, grand_key, table), dtype="Int64")
    result["all"] = pd.DataFrame({count: value.where((grand == 0) | (grand >= k), None)})
    return result
