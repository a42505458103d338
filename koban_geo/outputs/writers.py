"""The export file formats beside GeoJSON (koban_geo.store.geojson): CSV, GeoPackage and GeoParquet, each
written from whole columns (geometries as one shapely array, attributes column by column), never one
feature at a time in Python. koban_geo.outputs.export decides what goes in (a `Layer`, through the audience
gate); this module only writes it.

- CSV: UTF-8 with a byte order mark, comma, CRLF, RFC 4180 quoting; attributes, then centroid_lon,
  centroid_lat and geometry_wkt (6 decimals); formula-like text defused; metadata in `<name>.csv-metadata.json`.
- GeoPackage: one layer named after `what` (EPSG:4326), metadata in the layer description and `koban_metadata`.
- GeoParquet 1.1: WKB geometry, a `bbox` covering column (struct xmin, ymin, xmax, ymax) named in the `geo`
  metadata, so readers can skip row groups by their statistics; polygons counter-clockwise (stated as
  `orientation`); the export's metadata as JSON under the file's `koban` key.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from koban_geo.store.geojson import PRECISION, ColumnRows, as_array

CSV_METADATA_SUFFIX = "-metadata.json"
GEOPARQUET_VERSION = "1.1.0"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBERS = frozenset({int, float, bool, type(None)})


@dataclass
class Layer:
    """An export before it is written: (geometry in EPSG:4326 or None, properties) rows and the metadata."""

    what: str
    rows: Sequence[tuple[shapely.Geometry | None, dict[str, Any]]]  # a list, or store.geojson.ColumnRows
    meta: dict[str, Any]


def jsonable(value: Any) -> Any:
    """Metadata as plain JSON values (numpy scalars as numbers, times ISO 8601)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def flat_value(value: Any) -> Any:
    """One flat attribute value: lists and objects as JSON text, times ISO 8601, NaN as empty."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if str(value) in ("<NA>", "NaT"):
        return None
    return value


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (OWASP 'CSV injection')."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def column_names(rows: Sequence[tuple[Any, Mapping[str, Any]]]) -> list[str]:
    names: dict[str, None] = {}
    for _, props in rows:
        names.update(dict.fromkeys(props))
    return list(names)


def flat_column(values: list[Any]) -> list[Any]:
    """A column as flat values (`flat_value`); a column of plain numbers passes in one check."""
    if set(map(type, values)) <= _NUMBERS:
        floats = np.array([v if type(v) is float else 0.0 for v in values], dtype=float)
        if np.isfinite(floats).all():
            return values
    return [flat_value(v) for v in values]


def _columns(layer: Layer) -> dict[str, list[Any]]:
    if isinstance(layer.rows, ColumnRows):
        return {name: flat_column(values) for name, values in layer.rows.columns.items()}
    return {c: flat_column([p.get(c) for _, p in layer.rows]) for c in column_names(layer.rows)}


def _geometries(layer: Layer) -> np.ndarray:
    return as_array([g for g, _ in layer.rows])  # square rings (hotspots(rings=True)) become polygons


def write_csv(out: Path, layer: Layer, *, wkt: bool = True) -> Path:
    """The CSV (UTF-8 with BOM, comma, CRLF) and its metadata file beside it; returns the metadata file."""
    columns = _columns(layer)
    body = [
        values if set(map(type, values)) <= _NUMBERS else [csv_safe(v) for v in values]
        for values in columns.values()
    ]
    geoms = _geometries(layer)
    present = ~shapely.is_missing(geoms)
    centres = shapely.centroid(geoms)
    for coord in (shapely.get_x(centres), shapely.get_y(centres)):
        rounded = np.round(coord, PRECISION).tolist()
        body.append([v if ok else None for v, ok in zip(rounded, present.tolist(), strict=True)])
    if wkt:
        body.append(shapely.to_wkt(geoms, rounding_precision=PRECISION, trim=True).tolist())
    extra = ["centroid_lon", "centroid_lat"] + (["geometry_wkt"] if wkt else [])
    tmp = out.with_name(out.name + ".part")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(list(columns) + extra)
        writer.writerows(zip(*body, strict=True))  # None is written as an empty field
    tmp.replace(out)
    sidecar = out.with_name(out.name + CSV_METADATA_SUFFIX)
    meta = {"url": out.name, "dialect": {"encoding": "utf-8", "delimiter": ",", "header": True},
            "columns": list(columns) + extra, "koban": layer.meta}  # fmt: skip
    sidecar.write_text(json.dumps(jsonable(meta), ensure_ascii=False, indent=1), encoding="utf-8")
    return sidecar


def _kind(values: list[Any]) -> str:
    """bool, int, float or str: the type a column keeps in GeoPackage and GeoParquet (None = missing)."""
    present = set(map(type, values)) - {type(None)}
    if present and present <= {bool}:
        return "bool"
    if present and present <= {int}:
        return "int"
    if present and present <= {int, float}:
        return "float"
    return "str"


def _typed(values: list[Any]) -> Any:
    """A pandas column for the GeoPackage: nullable integers, booleans and floats keep their type."""
    import pandas as pd

    kind = _kind(values)
    if kind == "bool":
        return pd.array(values, dtype="boolean")
    if kind == "int":
        return pd.array(values, dtype="Int64")
    if kind == "float":
        return pd.array([float(v) if v is not None else None for v in values], dtype="Float64")
    return pd.array([str(v) if v is not None else None for v in values], dtype=object)


def write_gpkg(out: Path, layer: Layer) -> None:
    """One GeoPackage layer named `layer.what` plus the `koban_metadata` table (key, JSON value)."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    data = {c: _typed(v) for c, v in _columns(layer).items()}
    frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(_geometries(layer), crs="EPSG:4326"))
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    tmp.unlink(missing_ok=True)
    meta_json = json.dumps(jsonable(layer.meta), ensure_ascii=False)
    pyogrio.write_dataframe(frame, tmp, layer=layer.what, driver="GPKG",
                            layer_options={"DESCRIPTION": meta_json})  # fmt: skip
    table = pd.DataFrame({"key": list(layer.meta),
                          "value": [json.dumps(jsonable(v), ensure_ascii=False) for v in layer.meta.values()]})  # fmt: skip
    pyogrio.write_dataframe(table, tmp, layer="koban_metadata", driver="GPKG", append=True)
    tmp.replace(out)


def _arrow_column(values: list[Any]) -> Any:
    import pyarrow as pa

    kind = _kind(values)
    if kind == "bool":
        return pa.array(values, type=pa.bool_())
    if kind == "int":
        return pa.array(values, type=pa.int64())
    if kind == "float":
        return pa.array([float(v) if v is not None else None for v in values], type=pa.float64())
    return pa.array([str(v) if v is not None else None for v in values], type=pa.string())


def geo_metadata(geoms: np.ndarray) -> dict[str, Any]:
    """The GeoParquet 1.1 `geo` metadata of one WKB geometry column with a `bbox` covering column."""
    from pyproj import CRS

    present = geoms[~shapely.is_missing(geoms)]
    types = sorted({str(t) for t in shapely.get_type_id(present).tolist()})
    names = {"0": "Point", "1": "LineString", "3": "Polygon", "4": "MultiPoint", "5": "MultiLineString",
             "6": "MultiPolygon", "7": "GeometryCollection"}  # fmt: skip
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": sorted(names[t] for t in types if t in names),
        "crs": CRS.from_epsg(4326).to_json_dict(),  # coordinates are lon, lat whatever the CRS's axis order
        "edges": "planar",
        "covering": {"bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}},
    }
    if present.size:
        bounds = shapely.total_bounds(present)
        column["bbox"] = [float(v) for v in bounds]
    if {"Polygon", "MultiPolygon"} & set(column["geometry_types"]):
        column["orientation"] = "counterclockwise"  # koban_geo.store.geojson.normalised orients them
    return {"version": GEOPARQUET_VERSION, "primary_column": "geometry", "columns": {"geometry": column}}


def write_geoparquet(out: Path, layer: Layer) -> None:
    """GeoParquet 1.1 (WKB geometry in EPSG:4326 lon/lat, a `bbox` covering column, the `geo` metadata),
    the export's metadata as JSON under the key `koban`. Read by GDAL/QGIS, DuckDB and geopandas."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    geoms = _geometries(layer)
    arrays = {c: _arrow_column(v) for c, v in _columns(layer).items()}
    missing = shapely.is_missing(geoms)
    arrays["geometry"] = pa.array(shapely.to_wkb(geoms, output_dimension=2).tolist(), type=pa.binary())
    bounds = shapely.bounds(geoms)
    arrays["bbox"] = pa.StructArray.from_arrays(
        [pa.array(bounds[:, i], type=pa.float64(), mask=missing) for i in range(4)],
        names=["xmin", "ymin", "xmax", "ymax"],
        mask=pa.array(missing),
    )
    table = pa.table(arrays)
    table = table.replace_schema_metadata({
        b"geo": json.dumps(geo_metadata(geoms)).encode(),
        b"koban": json.dumps(jsonable(layer.meta), ensure_ascii=False).encode(),
    })  # fmt: skip
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(out)
