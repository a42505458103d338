"""Typed settings: one object, read from KOBAN_* environment variables or a .env file, passed in explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOBAN_", env_file=".env", extra="ignore")

    db: Path = Field(Path("koban.duckdb"), description="DuckDB store file")
    site: str | None = Field(
        None, description="site (code) to work in when the store holds several; unset: the store's only site"
    )
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
    public_url: str | None = Field(
        None,
        description="address residents' phones open (e.g. http://10.0.0.5:8501); the join QR code points here",
    )
    tiles_url: str | None = Field(
        None,
        description="raster tile URL template of your own tile server (wins over the offline basemap); "
        "unset: the offline basemap when built, else the store's streets",
    )
    basemap: Path | None = Field(
        None,
        description="offline vector basemap (PMTiles) the dashboard serves; default: beside the store, "
        "koban.duckdb -> koban.basemap.pmtiles (`koban-geo basemap build`)",
    )
    tiles_attribution: str = Field(
        "&copy; OpenStreetMap contributors", description="attribution shown with the base map tiles"
    )
    session_minutes: int = Field(480, ge=5, le=7 * 24 * 60, description="a login expires after this")
    session_secret: SecretStr | None = Field(
        None,
        description="key that signs the session cookie (32+ characters); when unset, a random key per server "
        "start, so a restart ends every login",
    )
    trust_proxy: bool = Field(
        False,
        description="trust X-Forwarded-Proto and X-Forwarded-For from a reverse proxy (set only behind one)",
    )
    login_max_failures: int = Field(
        5, ge=3, le=50, description="failed logins in a row before an account is locked for a while"
    )
    lockout_minutes: int = Field(15, ge=1, le=24 * 60, description="how long a locked account stays locked")
    retention_months: int = Field(24, ge=1, le=120, description="concerns older than this are purged")
    audit_retention_months: int = Field(
        72, ge=12, le=240, description="audit log entries older than this are purged"
    )

    max_line_bytes: int = Field(
        2_000_000,
        ge=10_000,
        le=100_000_000,
        description="longest CSV line (record) ingestion reads, in bytes",
    )
    max_json_depth: int = Field(
        64, ge=8, le=500, description="deepest JSON nesting ingestion parses (GeoJSON needs about 8)"
    )
    max_vertices_per_geometry: int = Field(
        100_000, ge=100, le=10_000_000, description="most vertices of one area or layer geometry"
    )
    max_vertices_per_file: int = Field(
        2_000_000,
        ge=100,
        le=100_000_000,
        description="most vertices of all geometries in one areas or layer file",
    )

    @field_validator("tiles_url")
    @classmethod
    def _tiles_form(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        if not value.startswith(("http://", "https://", "/")) or "{z}" not in value:
            raise ValueError("tiles_url must be an http(s) or /path template containing {z}, {x} and {y}")
        return value

    @field_validator("session_secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 32:
            raise ValueError("session_secret must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

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
