"""Class breaks of area counts: the one rule that shades an area, on the screen's map and in the paper pack.

Quantiles of the shown non-zero counts, rounded up to whole numbers, in up to `CLASSES` classes; a count's
class is the first break it does not exceed. The dashboard's choropleth (dashboard/ui/map) and the meeting
pack's SVG map (koban_geo.outputs.meeting_pack) both call these, so one area never gets two shades.

>>> class_breaks([1, 2, 3, 10, 20, 40, 80, 200])
[3, 9, 25, 65, 200]
>>> [class_of(c, [3, 9, 25, 65, 200]) for c in (1, 4, 200)]
[0, 1, 4]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["CLASSES", "class_breaks", "class_of"]

CLASSES = 5  # classes of the area choropleth


def class_breaks(counts: Sequence[int], classes: int = CLASSES) -> list[int]:
    """Upper bounds of up to `classes` classes of positive counts (quantiles, rounded up to integers)."""
    values = np.asarray([c for c in counts if c], dtype=float)
    if values.size == 0:
        return []
    qs = np.quantile(values, np.linspace(0, 1, classes + 1)[1:])
    return sorted({int(math.ceil(q)) for q in qs})


def class_of(count: int, breaks: Sequence[int], classes: int = CLASSES) -> int:
    """The class (0 .. classes-1) of a positive count under `breaks`.

    >>> class_of(4, [3, 10, 25])
    1
    """
    for i, upper in enumerate(breaks):
        if count <= upper:
            return min(i, classes - 1)
    return classes - 1
