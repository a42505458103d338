"""Typed settings: one frozen object, read from KOBAN_* environment variables or a .env file, passed in explicitly.

Each field declares its type, default, bounds and description (`setting`); `Settings(...)` checks every value
(a string from the environment is converted to the field's type) and names the setting it refuses;
`get_settings` reads the environment and `.env`; `settings.replace(...)` is a changed, checked copy.

A frozen dataclass and a small reader, not pydantic-settings: every `koban-geo` command builds one, and
importing pydantic and pydantic-settings took 0.2-0.3 s of each process, more than the Gi* of a million
concerns that the settings configure (bench/README.md, Outputs).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

ENV_PREFIX = "KOBAN_"
_TRUE = {"1", "true", "yes", "on", "t", "y"}
_FALSE = {"0", "false", "no", "off", "f", "n"}


class SettingsError(ValueError):
    """A setting refused; the message names it as its environment variable (KOBAN_NAME)."""


@dataclass(frozen=True)
class Secret:
    """A value kept out of reprs, logs and error messages (the session key)."""

    value: str = field(repr=False)

    def get_secret_value(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return "Secret('**********')"


def setting(default: Any, *, description: str, ge: float | None = None, le: float | None = None,
            gt: float | None = None) -> Any:  # fmt: skip
    """A field of Settings: its default, its bounds (numbers) and what it is for."""
    return field(default=default, metadata={"description": description, "ge": ge, "le": le, "gt": gt})


@dataclass(frozen=True)
class Settings:
    db: Path = setting(Path("koban.duckdb"), description="DuckDB store file")
    site: str | None = setting(
        None, description="site (code) to work in when the store holds several; unset: the store's only site"
    )
    grid_m: int = setting(100, ge=10, le=100, description="grid cell (metres) that concern locations snap to")
    sensitive_grid_m: int = setting(
        500, ge=100, le=5000, description="coarser grid cell (metres) for sensitive themes"
    )
    k_min: int = setting(5, ge=3, description="smallest count shown to public and council audiences")
    timezone: str = setting(
        "UTC", description="zone that offset-aware timestamps are converted to; naive ones are taken as local"
    )
    metric_crs: str | None = setting(
        None, description="metric CRS for snapping and grids (e.g. EPSG:3067); chosen from the data if unset"
    )
    anonymous_points_layer: str | None = setting(
        None,
        description="layer of anonymous points (police.uk style) that concerns snap to instead of the grid",
    )
    anonymous_points_max_m: float = setting(
        250.0, gt=0, le=2000, description="farthest anonymous point a concern snaps to; beyond it, the grid"
    )
    group_days: int = setting(
        3,
        ge=0,
        le=30,
        description="reports of one theme at one snapped place within this many days form a group",
    )
    count_unit: Literal["reports", "groups"] = setting(
        "groups", description="what analytics count: every report, or near-duplicate groups"
    )
    port: int = setting(8501, ge=1, le=65535, description="dashboard port")
    public_url: str | None = setting(
        None,
        description="address residents' phones open (e.g. http://10.0.0.5:8501); the join QR code points here",
    )
    tiles_url: str | None = setting(
        None,
        description="raster tile URL template of your own tile server (wins over the offline basemap); "
        "unset: the offline basemap when built, else the store's streets",
    )
    basemap: Path | None = setting(
        None,
        description="offline vector basemap (PMTiles) the dashboard serves; default: beside the store, "
        "koban.duckdb -> koban.basemap.pmtiles (`koban-geo basemap build`)",
    )
    tiles_attribution: str = setting(
        "&copy; OpenStreetMap contributors", description="attribution shown with the base map tiles"
    )
    session_minutes: int = setting(480, ge=5, le=7 * 24 * 60, description="a login expires after this")
    session_secret: Secret | None = setting(
        None,
        description="key that signs the session cookie (32+ characters); when unset, a random key per server "
        "start, so a restart ends every login",
    )
    trust_proxy: bool = setting(
        False,
        description="trust X-Forwarded-Proto and X-Forwarded-For from a reverse proxy (set only behind one)",
    )
    login_max_failures: int = setting(
        5, ge=3, le=50, description="failed logins in a row before an account is locked for a while"
    )
    lockout_minutes: int = setting(15, ge=1, le=24 * 60, description="how long a locked account stays locked")
    retention_months: int = setting(24, ge=1, le=120, description="concerns older than this are purged")
    audit_retention_months: int = setting(
        72, ge=12, le=240, description="audit log entries older than this are purged"
    )

    max_line_bytes: int = setting(
        2_000_000,
        ge=10_000,
        le=100_000_000,
        description="longest CSV line (record) ingestion reads, in bytes",
    )
    max_json_depth: int = setting(
        64, ge=8, le=500, description="deepest JSON nesting ingestion parses (GeoJSON needs about 8)"
    )
    max_vertices_per_geometry: int = setting(
        100_000, ge=100, le=10_000_000, description="most vertices of one area or layer geometry"
    )
    max_vertices_per_file: int = setting(
        2_000_000,
        ge=100,
        le=100_000_000,
        description="most vertices of all geometries in one areas or layer file",
    )

    def __post_init__(self) -> None:
        hints = _hints()
        for f in dataclasses.fields(self):
            value = _checked(f, hints[f.name], getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        if self.tiles_url is not None and (
            not self.tiles_url.startswith(("http://", "https://", "/")) or "{z}" not in self.tiles_url
        ):
            raise _error("tiles_url", "must be an http(s) or /path template containing {z}, {x} and {y}")
        if self.session_secret is not None and len(self.session_secret.get_secret_value()) < 32:
            raise _error("session_secret", "must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        if self.metric_crs is not None:
            if not self.metric_crs.upper().startswith("EPSG:"):
                raise _error("metric_crs", f"must look like EPSG:NNNN, not {self.metric_crs!r}")
            object.__setattr__(self, "metric_crs", self.metric_crs.upper())

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (checked like the original)."""
        return dataclasses.replace(self, **changes)


def fields() -> dict[str, dataclasses.Field[Any]]:
    """The settings by name (default, and `metadata` with description and bounds)."""
    return {f.name: f for f in dataclasses.fields(Settings)}


def get_settings(*, env_file: str | Path | None = ".env", **overrides: object) -> Settings:
    """Settings from KOBAN_* environment variables over a `.env` file (if there is one) over the defaults,
    with explicit overrides that are not None (e.g. from CLI options) winning. Names are case-insensitive;
    KOBAN_* variables that are not settings are ignored."""
    names = set(fields())
    values: dict[str, Any] = {}
    for source in (read_env_file(env_file) if env_file else {}, os.environ):
        for key, raw in source.items():
            name = key.lower().removeprefix(ENV_PREFIX.lower())
            if key.upper().startswith(ENV_PREFIX) and name in names:
                values[name] = raw
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def read_env_file(path: str | Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (`export ` prefix, quotes and `#` comments as in shells); {} if absent."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        out[key.strip()] = value
    return out


@cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def _error(name: str, problem: str) -> SettingsError:
    return SettingsError(f"{ENV_PREFIX}{name.upper()} {problem}")


def _checked(f: dataclasses.Field[Any], kind: Any, value: Any) -> Any:
    """`value` as the field's type, inside its bounds; a string from the environment is converted."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if type(None) in options:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        options = tuple(o for o in options if o is not type(None))
    (kind,) = options
    shown = "" if kind is Secret else f" (got {value!r})"
    try:
        value = _convert(kind, value)
    except (TypeError, ValueError) as exc:
        raise _error(f.name, f"{exc}{shown}") from None
    bounds = f.metadata
    if bounds.get("ge") is not None and value < bounds["ge"]:
        raise _error(f.name, f"must be at least {bounds['ge']}{shown}")
    if bounds.get("gt") is not None and value <= bounds["gt"]:
        raise _error(f.name, f"must be more than {bounds['gt']}{shown}")
    if bounds.get("le") is not None and value > bounds["le"]:
        raise _error(f.name, f"must be at most {bounds['le']}{shown}")
    return value


def _convert(kind: Any, value: Any) -> Any:
    if typing.get_origin(kind) is Literal:
        if value not in typing.get_args(kind):
            raise ValueError("must be one of " + ", ".join(map(str, typing.get_args(kind))))
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError("must be true or false")
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("must be a whole number")
        return int(value.strip().replace("_", "")) if isinstance(value, str) else value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("must be a number")
        return float(value)
    if kind is Path:
        if not isinstance(value, str | os.PathLike):
            raise ValueError("must be a file path")
        return Path(value)
    if kind is Secret:
        return value if isinstance(value, Secret) else Secret(str(value))
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("must be text")
        return value
    raise TypeError(f"no reader for settings of type {kind}")
