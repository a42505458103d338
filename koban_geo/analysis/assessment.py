"""The assessment of a problem card's response: before/after counts in the problem's place against a
comparison place over equal periods, a difference-in-differences style effect and a plain-language verdict.

Pure arithmetic on four counts (koban_geo.community.problems counts them and applies the audience tiers):

    change_pct             = 100 (after_p - before_p) / before_p          (None when before_p is 0)
    comparison_change_pct  = 100 (after_c - before_c) / before_c
    relative_effect        = (after_p / before_p) / (after_c / before_c)  (None when a count is 0)

A relative effect under 1 means the place did better than the comparison would have predicted. It is the
inverse of Farrington's relative effect size (RES = a d / b c), so its 95 % interval follows from the same
variance, var(log effect) = 1/a + 1/b + 1/c + 1/d; when the interval holds 1 the verdict says the
difference could be chance. The verdict states no number, so public tiers may see it:

- too few: the place's before + after is under `MIN_REPORTS` ("Too few reports to say."); the comparison's
  total under it: the place's own change is said, with "too few in the comparison area to compare";
- a change within ±10 % (`SAME_BAND`) is "about the same"; when place and comparison moved the same way,
  the effect reads better (< 0.9), worse (> 1/0.9) or similar.

    >>> assessment_figures(24, 8, 20, 25).verdict
    'Fewer reports after the response, while the comparison area had more.'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

MIN_REPORTS = 10  # before + after in a place below this: "too few reports to say"
SAME_BAND = 0.10  # a change within ±10 % reads "about the same"

VERDICTS: dict[str, str] = {
    "too_few": "Too few reports to say.",
    "fewer:none": "Fewer reports after the response; too few in the comparison area to compare.",
    "more:none": "More reports after the response; too few in the comparison area to compare.",
    "same:none": "About as many reports after the response as before; too few in the comparison area to compare.",
    "fewer:more": "Fewer reports after the response, while the comparison area had more.",
    "fewer:same": "Fewer reports after the response, while the comparison area stayed about the same.",
    "fewer:better": "Fewer reports after the response: a bigger fall than in the comparison area.",
    "fewer:similar": "Fewer reports after the response, but the comparison area fell about as much.",
    "fewer:worse": "Fewer reports after the response, but the comparison area fell more.",
    "more:fewer": "More reports after the response, while the comparison area had fewer.",
    "more:same": "More reports after the response, while the comparison area stayed about the same.",
    "more:better": "More reports after the response, but a smaller rise than in the comparison area.",
    "more:similar": "More reports after the response, about as big a rise as in the comparison area.",
    "more:worse": "More reports after the response: a bigger rise than in the comparison area.",
    "same:fewer": "About as many reports after the response as before, while the comparison area had fewer.",
    "same:more": "About as many reports after the response as before, while the comparison area had more.",
    "same:same": "About as many reports after the response as before, as in the comparison area.",
}
CHANCE = " The difference from the comparison area could be chance."


@dataclass(frozen=True)
class Assessment:
    """Before/after counts in the place (p) and the comparison (c), over equal periods.

    change_pct = 100 (after_p - before_p) / before_p; comparison_change_pct likewise; relative_effect =
    (after_p / before_p) / (after_c / before_c): under 1, the place did better than the comparison (the
    inverse of Farrington's relative effect size), with a 95 % interval from var(log) = 1/a + 1/b + 1/c + 1/d.
    """

    place_before: int | None
    place_after: int | None
    comparison_before: int | None
    comparison_after: int | None
    change_pct: float | None
    comparison_change_pct: float | None
    relative_effect: float | None
    effect_low: float | None
    effect_high: float | None
    verdict_code: str
    verdict: str
    small_numbers: bool
    response_start: date | None = None
    period_days: int | None = None
    comparison: str | None = None
    before: tuple[date, date] | None = None  # [first day, day after the last]
    after: tuple[date, date] | None = None
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _direction(before: int, after: int) -> str:
    if before == 0:
        return "more" if after > 0 else "same"
    change = (after - before) / before
    return "fewer" if change < -SAME_BAND else "more" if change > SAME_BAND else "same"


def _pct(before: int, after: int) -> float | None:
    return round(100.0 * (after - before) / before, 1) if before else None


def assessment_figures(
    place_before: int, place_after: int, comparison_before: int, comparison_after: int,
    *, min_reports: int = MIN_REPORTS,
) -> Assessment:  # fmt: skip
    """The numbers and the plain-language verdict of a before/after comparison (module docstring).

    Too few: the place's before + after is under `min_reports` (then nothing is said), or the comparison's
    (then the place's own change is said, without a comparison). A change within ±10 % is "about the same";
    the relative effect reads "better" under 0.9, "worse" over 1/0.9, else "similar".

    >>> assessment_figures(40, 20, 50, 50).verdict
    'Fewer reports after the response, while the comparison area stayed about the same.'
    """
    a, b, c, d = (int(x) for x in (place_before, place_after, comparison_before, comparison_after))
    effect = low = high = None
    if a and b and c and d:
        effect = (b / a) / (d / c)
        spread = 1.96 * math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        low, high = effect * math.exp(-spread), effect * math.exp(spread)
    place_small = a + b < min_reports
    comparison_small = c + d < min_reports
    mine, theirs = _direction(a, b), _direction(c, d)
    if place_small:
        code = "too_few"
    elif comparison_small:
        code = f"{mine}:none"
    elif mine == theirs and mine != "same" and effect is not None:
        code = f"{mine}:" + ("better" if effect < 1 - SAME_BAND else "worse" if effect > 1 / (1 - SAME_BAND)
                             else "similar")  # fmt: skip
    else:
        code = f"{mine}:{theirs}"
    verdict = VERDICTS[code]
    if (
        code != "too_few"
        and not comparison_small
        and low is not None
        and high is not None
        and low <= 1 <= high
    ):
        verdict += CHANCE
    return Assessment(
        place_before=a, place_after=b, comparison_before=c, comparison_after=d,
        change_pct=_pct(a, b), comparison_change_pct=_pct(c, d),
        relative_effect=round(effect, 4) if effect is not None else None,
        effect_low=round(low, 4) if low is not None else None,
        effect_high=round(high, 4) if high is not None else None,
        verdict_code=code, verdict=verdict, small_numbers=place_small or comparison_small,
    )  # fmt: skip
