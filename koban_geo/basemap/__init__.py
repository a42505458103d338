"""The offline vector basemap: an OpenStreetMap extract cut into one PMTiles archive, and read back by z/x/y.

`build_basemap` (`koban-geo basemap build EXTRACT.osm.pbf`) turns an .osm.pbf extract into vector tiles with
DuckDB spatial (sql/queries/basemap_*.sql) in the Protomaps basemap v4 layers (earth, landuse, water, roads,
buildings, places, pois) and writes them with the `pmtiles` package; `open_archive` and `active_basemap` are
what the dashboard's tile route and maps use. docs/basemap.md has the why and the figures.

Owns: the OSM-to-tiles SQL and the archive writer (`build`), reading an archive (`archive`), where the demo's
extract is (`sample`).
Imports: `koban_geo.store` (the DuckDB connection helpers and settings).
"""

from koban_geo.basemap.archive import (
    Archive,
    active_basemap,
    archive_path,
    default_path,
    open_archive,
)
from koban_geo.basemap.build import (
    ATTRIBUTION,
    FIELDS,
    LAYERS,
    MAX_ZOOM,
    MIN_ZOOM,
    BasemapError,
    BuildReport,
    build_basemap,
)
from koban_geo.basemap.sample import demo_extract

__all__ = [
    "ATTRIBUTION",
    "FIELDS",
    "LAYERS",
    "MAX_ZOOM",
    "MIN_ZOOM",
    "Archive",
    "BasemapError",
    "BuildReport",
    "active_basemap",
    "archive_path",
    "build_basemap",
    "default_path",
    "demo_extract",
    "open_archive",
]
