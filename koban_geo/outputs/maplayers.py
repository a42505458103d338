"""What a map shows: the layers a tier may switch on, and their data, already through the audience gate.

Pure data (no folium, no Streamlit): the dashboard's maps (dashboard/ui/map/) draw a `MapData` and decide
nothing about privacy themselves. Every layer comes from an analysis function that applies the tier's policy
(`koban_geo.privacy.audience`); this module adds the allow-lists (public and council maps hold aggregates
only: areas, Gi* cells, emerging cells, cluster outlines) and leaves out the cells a map does not draw.

>>> allowed_layers("public")
['areas', 'gistar', 'emerging', 'dbscan']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from koban_geo.analysis.grid import Filter
from koban_geo.outputs.classes import CLASSES, class_breaks, class_of
from koban_geo.privacy.audience import Audience, Policy, PrivacyError
from koban_geo.store.settings import Settings

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "AGGREGATE_LAYERS",
    "ANALYSIS_LAYERS",
    "AREAS",
    "CLASSES",
    "CRIME",
    "DBSCAN",
    "DEFAULT_LAYERS",
    "EMERGING",
    "EMERGING_CATEGORIES",
    "GISTAR",
    "KDE",
    "MAX_MARKERS",
    "OPEN_PREFIX",
    "PUBLIC_LAYERS",
    "MapData",
    "allowed_layers",
    "class_breaks",
    "class_of",
    "drawn_only",
    "extent",
    "map_data",
]

AREAS, GISTAR, EMERGING, DBSCAN, KDE, CRIME = "areas", "gistar", "emerging", "dbscan", "kde", "crime"
OPEN_PREFIX = "open:"  # "open:streetlights": an open-data point layer of the store
ANALYSIS_LAYERS: tuple[str, ...] = (AREAS, GISTAR, EMERGING, DBSCAN, KDE, CRIME)
AGGREGATE_LAYERS = frozenset({AREAS, GISTAR, EMERGING, DBSCAN})  # what public and council tiers may see
PUBLIC_LAYERS = frozenset({AREAS, GISTAR})
DEFAULT_LAYERS = frozenset({AREAS, GISTAR})  # at most two layers on by default (issue 14)
MAX_MARKERS = 2_000  # individual markers a map may hold; above this, recorded crime becomes a heat layer
# The emerging hot spot patterns a map draws, hot family first (strongest / newest first), then cold.
EMERGING_CATEGORIES: tuple[str, ...] = tuple(
    f"{kind}_{family}"
    for family in ("hot", "cold")
    for kind in ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
                 "oscillating", "historical")
)  # fmt: skip


@dataclass
class MapData:
    """Everything a map draws, already through the audience gate; plain values, so it can be cached.

    `empty`: the filter selects no report at all (the map then says so); `latest`: the day of the store's
    last report (None in an empty store), for that message.
    """

    audience: str
    k: int
    unit: str
    bounds: tuple[float, float, float, float] | None
    layers: dict[str, Any] = field(default_factory=dict)  # key -> rows / CrimeLocations / points
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    streets: Any = None  # shapely lines when the base map has no tiles
    empty: bool = False
    latest: date | None = None


def allowed_layers(audience: Audience | str, open_layers: Iterable[str] = ()) -> list[str]:
    """The layer keys an audience may switch on, in display order."""
    if Audience(audience).aggregates_only:
        return [key for key in ANALYSIS_LAYERS if key in AGGREGATE_LAYERS]
    return [*ANALYSIS_LAYERS, *(OPEN_PREFIX + name for name in open_layers)]


def map_data(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    flt: Filter | None,
    audience: Audience | str,
    layers: Iterable[str],
    *,
    store_bounds: tuple[float, float, float, float] | None | EllipsisType = ...,
    streets: bool | None = None,
) -> MapData:
    """Fetch the layers (keys of `allowed_layers`) for one filter and audience tier.

    `store_bounds`: areas.bounds(con) when the caller has it already. `streets`: whether to fetch the store's
    streets for a map with no other base layer (default: when no tile server is set; the dashboard also
    leaves them out when it draws the offline basemap, koban_geo.basemap). The Gi* and emerging layers hold only
    the cells a map draws (significant / with a pattern), and the emerging slices end at the last complete
    month that holds data (meta["slices_end"]). Raises PrivacyError for a layer the tier may not see (points
    and density surfaces for public/council), ValueError for an unknown layer.
    """
    from koban_geo.analysis import areas
    from koban_geo.analysis.hotspots import hotspots

    policy = Policy.for_audience(audience, settings)
    flt = flt or Filter(unit=settings.count_unit)
    wanted = list(dict.fromkeys(layers))
    for key in wanted:
        if policy.audience.aggregates_only and key not in AGGREGATE_LAYERS:
            raise PrivacyError(f"the {key!r} layer is not for {policy.audience} maps")
        if key not in ANALYSIS_LAYERS and not key.startswith(OPEN_PREFIX):
            raise ValueError(f"unknown map layer {key!r}")
    bounds = areas.bounds(con) if isinstance(store_bounds, EllipsisType) else store_bounds
    data = MapData(audience=str(policy.audience), k=policy.k, unit=flt.unit, bounds=bounds)
    for key in wanted:
        if key == AREAS:
            data.layers[key], data.meta[key] = areas.area_counts(con, settings, flt, policy.audience)
        elif key in (GISTAR, EMERGING):
            # only the cells a map draws (the gate runs on every cell first); the emerging slices end at the
            # last complete month with data, not in an empty month running to today
            data.layers[key], data.meta[key] = hotspots(
                con, settings, method=key, flt=flt, audience=policy.audience, significant_only=True,  # type: ignore[arg-type]
                complete_slices=key == EMERGING,
            )  # fmt: skip
        elif key in (DBSCAN, KDE):
            data.layers[key], data.meta[key] = hotspots(con, settings, method=key, flt=flt, audience=policy.audience)  # type: ignore[arg-type]  # fmt: skip
        elif key == CRIME:
            data.layers[key] = areas.crime_locations(con, settings, flt, policy.audience)
        else:
            data.layers[key] = areas.layer_points(con, settings, key[len(OPEN_PREFIX) :], policy.audience)
    if flt.areas and data.layers.get(AREAS):
        data.bounds = extent(g for g, _p in data.layers[AREAS]) or data.bounds  # open on the chosen areas
    if settings.tiles_url is None if streets is None else streets:
        data.streets = areas.streets(con)
    data.empty, data.latest = _window(con, flt, policy)
    return data


def _window(con: duckdb.DuckDBPyConnection, flt: Filter, policy: Policy) -> tuple[bool, date | None]:
    """(whether the filter selects no report the tier may count, the day of the store's last report)."""
    from koban_geo.privacy.audience import audience_filter
    from koban_geo.store.sql import query

    params = audience_filter(flt, policy).params()
    params.pop("groups")
    row = query(con, "map_reports_in_window", params).fetchone()
    selected, last = (row or (0, None))[:2]
    latest = last.date() if isinstance(last, datetime) else last
    return not selected, latest


def drawn_only(data: MapData) -> MapData:
    """`data` without the cells a map does not draw (Gi* cells that are not significant, cells with no
    emerging pattern): on 1,000,000 concerns 80 % of the Gi* rows, which a cache would otherwise pickle on
    every store and unpickle on every read."""
    layers = dict(data.layers)
    if GISTAR in layers:
        layers[GISTAR] = [(g, p) for g, p in layers[GISTAR] if p.get("gi_bin")]
    if EMERGING in layers:
        layers[EMERGING] = [(g, p) for g, p in layers[EMERGING] if p.get("category") in EMERGING_CATEGORIES]
    return replace(data, layers=layers)


def extent(geoms: Iterable[Any]) -> tuple[float, float, float, float] | None:
    """(min_lon, min_lat, max_lon, max_lat) of shapely geometries, None when there are none."""
    boxes = [g.bounds for g in geoms if g is not None and not g.is_empty]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
