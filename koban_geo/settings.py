"""Typed settings: one object, read from KOBAN_* environment variables or a .env file, passed in explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOBAN_", env_file=".env", extra="ignore")

    db: Path = Field(Path("koban.duckdb"), description="DuckDB store file")
    grid_m: int = Field(100, ge=10, le=100, description="grid cell (metres) that concern locations snap to")
    sensitive_grid_m: int = Field(
        500, ge=100, le=5000, description="coarser grid cell (metres) for sensitive themes"
    )
    k_min: int = Field(5, ge=3, description="smallest count shown to public and council audiences")
    timezone: str = Field(
        "UTC", description="zone that offset-aware timestamps are converted to; naive ones are taken as local"
    )
    metric_crs: str | None = Field(
        None, description="metric CRS for snapping and grids (e.g. EPSG:3067); chosen from the data if unset"
    )
    anonymous_points_layer: str | None = Field(
        None,
        description="layer of anonymous points (police.uk style) that concerns snap to instead of the grid",
    )
    anonymous_points_max_m: float = Field(
        250.0, gt=0, le=2000, description="farthest anonymous point a concern snaps to; beyond it, the grid"
    )
    group_days: int = Field(
        3,
        ge=0,
        le=30,
        description="reports of one theme at one snapped place within this many days form a group",
    )
    count_unit: Literal["reports", "groups"] = Field(
        "groups", description="what analytics count: every report, or near-duplicate groups"
    )
    port: int = Field(8501, ge=1, le=65535, description="dashboard port")

    @field_validator("metric_crs")
    @classmethod
    def _crs_form(cls, value: str | None) -> str | None:
        if value is not None and not value.upper().startswith("EPSG:"):
            raise ValueError("metric_crs must look like EPSG:NNNN")
        return value.upper() if value else value


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. from CLI options) winning."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
