"""Anonymisation at intake: the parameters every concerns batch is coarsened with.

The work itself happens in SQL (sql/queries/concerns_prepare.sql) so that no reported location or raw text
is ever written: points snap to the centre of a grid square of the store's metric CRS (coarser for
sensitive themes), times keep date and hour, free text goes through koban_geo.scrub, and reporter
columns are never read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from koban_geo.settings import Settings


@dataclass(frozen=True)
class AnonymisationParams:
    metric_crs: str
    grid_m: int
    sensitive_grid_m: int
    time_precision: str = "hour"
    text: str = "scrubbed (koban_geo.scrub)"
    dropped_columns: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_settings(cls, settings: Settings, metric_crs: str, dropped: tuple[str, ...] = ()) -> AnonymisationParams:
        return cls(
            metric_crs=metric_crs,
            grid_m=settings.grid_m,
            sensitive_grid_m=max(settings.sensitive_grid_m, settings.grid_m),
            dropped_columns=dropped,
        )

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["dropped_columns"] = list(self.dropped_columns)
        return record

    def precision_note(self) -> str:
        return (
            f"locations snapped to a {self.grid_m} m grid ({self.sensitive_grid_m} m for sensitive themes); "
            f"times rounded down to the {self.time_precision}"
        )
