"""Anonymisation at intake: the parameters every concerns batch is coarsened with.

The work itself happens in SQL (sql/queries/concerns_prepare.sql) so that no reported location or raw text
is ever written: points snap to the nearest point of an "anonymous points" layer when
one is configured (police.uk style), else to the centre of a grid square of the store's metric CRS (always
the coarser grid for sensitive themes), times keep date and hour, free text goes through koban_geo.privacy.scrub, and reporter
columns are never read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from koban_geo.store.settings import Settings


@dataclass(frozen=True)
class AnonymisationParams:
    metric_crs: str
    grid_m: int
    sensitive_grid_m: int
    anonymous_points_layer: str | None = None
    anonymous_points_max_m: float = 250.0
    time_precision: str = "hour"
    text: str = "scrubbed (koban_geo.privacy.scrub)"
    dropped_columns: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_settings(
        cls, settings: Settings, metric_crs: str, dropped: tuple[str, ...] = ()
    ) -> AnonymisationParams:
        return cls(
            metric_crs=metric_crs,
            grid_m=settings.grid_m,
            sensitive_grid_m=max(settings.sensitive_grid_m, settings.grid_m),
            anonymous_points_layer=settings.anonymous_points_layer,
            anonymous_points_max_m=settings.anonymous_points_max_m,
            dropped_columns=dropped,
        )

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["dropped_columns"] = list(self.dropped_columns)
        return record
