"""RFC 7946 GeoJSON out: WGS 84 lon/lat, no `crs` member, right-hand-rule polygons, 6 decimals, a `bbox`,
and the export's metadata as a top-level foreign member (`koban`).

Geometries are handled as whole arrays with shapely 2's vectorised functions (`normalised`, `geometries_json`):
snapped to the 6-decimal grid, rounded, oriented and serialised by GEOS in one call each, never one feature
at a time in Python. Rounding: `np.round(x, 6)` divides an integer by 10**6, which IEEE division rounds to the
double nearest that decimal, so every coordinate prints with at most 6 decimals.

    >>> import shapely
    >>> geometry_json(shapely.box(24.1234567, 60.0, 24.2, 60.1, ccw=False))["coordinates"][0]  # counter-clockwise
    [[24.123457, 60.0], [24.2, 60.0], [24.2, 60.1], [24.123457, 60.1], [24.123457, 60.0]]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast, overload

import numpy as np
import shapely

PRECISION = 6  # ~0.1 m: finer would only pretend to a precision the snapped data does not have
LICENCE = (
    "Concerns: KOBAN pilot data, aggregated and anonymised. Basemap data © OpenStreetMap contributors (ODbL)."
)


def _round(coords: np.ndarray) -> np.ndarray:
    return np.round(coords, PRECISION)


def as_array(geoms: Iterable[shapely.Geometry | None]) -> np.ndarray:
    """An object array of geometries (None kept), whatever sequence they came in; closed rings given as
    (k, 2) coordinate arrays (square cells, Grid.rings) become polygons."""
    if isinstance(geoms, np.ndarray) and geoms.dtype == object:
        return geoms
    items = list(geoms)
    if items and isinstance(items[0], np.ndarray):
        return np.asarray(shapely.polygons(np.stack(cast(list[np.ndarray], items))), dtype=object)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def normalised(geoms: Iterable[shapely.Geometry | None]) -> np.ndarray:
    """Each geometry as the GeoJSON writes it: 2D, rounded to 6 decimals, exterior rings counter-clockwise
    and holes clockwise (RFC 7946 section 3.1.6). Empty geometries become None (a feature without a
    geometry). Vectorised: rounding is one pass over all coordinates; only a geometry that rounding made
    invalid goes through GEOS's precision reducer (`set_precision`, which keeps it valid on the grid)."""
    arr = as_array(geoms)
    present = ~shapely.is_missing(arr)
    present[present] &= ~shapely.is_empty(arr[present])
    out = np.full(arr.shape, None, dtype=object)
    if present.any():
        source = arr[present]
        has_z = shapely.has_z(source)
        if has_z.any():
            source[has_z] = shapely.force_2d(source[has_z])
        shaped = shapely.transform(source, _round)
        broken = ~shapely.is_valid(shaped)
        broken[broken] = shapely.is_valid(source[broken])  # invalid already: leave it to the caller
        if broken.any():
            snapped = shapely.set_precision(source[broken], 10.0**-PRECISION)
            shaped[broken] = shapely.transform(snapped, _round)
        shaped = shapely.orient_polygons(shaped, exterior_cw=False)
        keep = ~shapely.is_empty(shaped)  # a sliver can collapse on the grid
        out[np.flatnonzero(present)[keep]] = shaped[keep]
    return out


def geometries_text(geoms: Iterable[shapely.Geometry | None], *, done: bool = False) -> np.ndarray:
    """GeoJSON geometry text per geometry ("null" where there is none); `done` when already `normalised`."""
    arr = as_array(geoms) if done else normalised(geoms)
    text = shapely.to_geojson(arr)
    text[shapely.is_missing(arr)] = "null"
    return np.asarray(text, dtype=object)


def geometries_json(geoms: Iterable[shapely.Geometry | None], *, done: bool = False) -> list[Any]:
    """GeoJSON geometry objects (dicts, None where there is none), parsed in one call."""
    text = geometries_text(geoms, done=done)
    return list(json.loads("[" + ",".join(text.tolist()) + "]")) if text.size else []


def geometry_json(geom: shapely.Geometry) -> dict[str, Any]:
    """One geometry as a GeoJSON object (for a single place; whole layers use `geometries_json`)."""
    if geom.is_empty:
        return {"type": geom.geom_type, "coordinates": []}
    found = geometries_json([geom])[0]
    return dict(found) if found is not None else {"type": geom.geom_type, "coordinates": []}


def bbox(geoms: np.ndarray) -> list[float] | None:
    """[west, south, east, north] of the (normalised) geometries, or None when there are none."""
    bounds = shapely.bounds(geoms[~shapely.is_missing(geoms)]) if geoms.size else np.empty((0, 4))
    if not len(bounds):
        return None
    west, south = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
    east, north = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
    return [round(float(v), PRECISION) for v in (west, south, east, north)]


def _clean(value: Any) -> Any:
    """JSON-safe property values: NaN and missing become null, numpy scalars plain numbers, times ISO 8601."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if str(value) in ("<NA>", "NaT"):
        return None
    return value


_PLAIN = frozenset({int, str, bool, type(None)})
_NUMERIC = frozenset({int, float, bool, type(None)})


def _plain_column(values: Sequence[Any]) -> list[Any]:
    """A column's values as JSON-safe Python values; ints, strings, bools and finite floats pass as they are."""
    kinds = set(map(type, values))
    if kinds <= _PLAIN:
        return list(values)
    if kinds <= _NUMERIC:
        floats = np.array([v if type(v) is float else 0.0 for v in values])
        if np.isfinite(floats).all():
            return list(values)
    return [_clean(v) for v in values]


def properties_of(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Cleaned property dicts, column by column (each row keeps its own keys, in its own order)."""
    if not rows:
        return []
    names = list(rows[0])
    if names and all(list(r) == names for r in rows):  # the usual case: one table, cleaned per column
        columns = [_plain_column([r[n] for r in rows]) for n in names]
        return [dict(zip(names, vals, strict=True)) for vals in zip(*columns, strict=True)]
    return [{k: _clean(v) for k, v in r.items()} for r in rows]


def feature_collection(
    rows: Iterable[tuple[shapely.Geometry | None, Mapping[str, Any]]], metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """A FeatureCollection from (geometry in EPSG:4326, properties) pairs, with bbox and metadata."""
    pairs = list(rows)
    geoms = normalised([g for g, _ in pairs])
    shapes = geometries_json(geoms, done=True)
    props = properties_of([p for _, p in pairs])
    doc: dict[str, Any] = {"type": "FeatureCollection"}
    box = bbox(geoms)
    if box is not None:
        doc["bbox"] = box
    doc["koban"] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "licence": LICENCE,
        **metadata,
    }
    doc["features"] = [
        {"type": "Feature", "geometry": g, "properties": p} for g, p in zip(shapes, props, strict=True)
    ]
    return doc


def columns_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Property rows as columns (every key of any row; a row without a key has None there)."""
    names: dict[str, None] = {}
    for props in rows:
        names.update(dict.fromkeys(props))
    return {n: [p.get(n) for p in rows] for n in names}


def _tokens(values: Sequence[Any]) -> list[str]:
    """Each value of a cleaned column as JSON text. Numbers, booleans and nulls hold no comma, so a numeric
    column is encoded in one call and split; text and nested values one by one."""
    kinds = set(map(type, values))
    if kinds <= _NUMERIC:
        text = json.dumps(list(values))[1:-1]
        return text.split(", ") if text else []
    if kinds <= {str, type(None)}:  # labels and ids: each distinct text encoded once
        seen = {v: json.dumps(v, ensure_ascii=False) for v in set(values)}
        return [seen[v] for v in values]
    return [json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in values]


def features_text(
    geoms: np.ndarray, columns: Mapping[str, Sequence[Any]], *, done: bool = False
) -> list[str]:
    """One GeoJSON Feature's text per geometry, properties from `columns` (each as long as `geoms`), in
    column order; a None property is written as null. No JSON objects are built per feature."""
    return _features(geometries_text(geoms, done=done).tolist(), columns)


def _features(shapes: list[str], columns: Mapping[str, Sequence[Any]]) -> list[str]:
    names = list(columns)
    template = '{"type":"Feature","geometry":%s,"properties":{'
    template += ",".join(json.dumps(n, ensure_ascii=False).replace("%", "%%") + ":%s" for n in names) + "}}"
    tokens = [_tokens(_plain_column(list(columns[n]))) for n in names]
    return [template % parts for parts in zip(shapes, *tokens, strict=True)]


def write_columns(
    path: Path, geoms: Iterable[shapely.Geometry | None], columns: Mapping[str, Sequence[Any]],
    metadata: Mapping[str, Any],
) -> int:  # fmt: skip
    """Write a FeatureCollection (as `feature_collection` builds it) straight from arrays: geometries in
    EPSG:4326 and properties as columns. Atomic, like `write`; returns the number of features."""
    shaped = normalised(geoms)
    head: dict[str, Any] = {"type": "FeatureCollection"}
    box = bbox(shaped)
    if box is not None:
        head["bbox"] = box
    head["koban"] = {"generated": datetime.now(UTC).isoformat(timespec="seconds"), "licence": LICENCE,
                     **metadata}  # fmt: skip
    return _write_collection(path, head, features_text(shaped, columns, done=True))


def _write_collection(path: Path, head: dict[str, Any], features: list[str]) -> int:
    prefix = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"features":['
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(prefix)
        fh.write(",".join(features))
        fh.write("]}")
    tmp.replace(path)
    return len(features)


_SQUARE = '{"type":"Polygon","coordinates":[[[%s],[%s],[%s],[%s],[%s]]]}'


def write_squares(
    path: Path, rings: np.ndarray, columns: Mapping[str, Sequence[Any]], metadata: Mapping[str, Any]
) -> int:
    """`write_columns` for quadrilaterals given as closed rings, an (n, 5, 2) lon/lat array (square cells,
    Grid.rings), without a shapely object: rounded to 6 decimals and written as text in whole columns.
    The same polygons as `write_columns` of their shapely polygons (coordinates print in Python's shortest
    form, where GEOS sometimes prints 17 digits of the same number). Rings that are not convex and
    counter-clockwise once rounded go through `write_columns`, which orients and repairs."""
    ring = np.round(np.asarray(rings, dtype=float).reshape(-1, 5, 2), PRECISION)
    edge = np.diff(ring, axis=1)  # the 4 edges; every turn to the left: a convex, simple, CCW ring
    turn = edge[:, :, 0] * np.roll(edge[:, :, 1], -1, axis=1) - edge[:, :, 1] * np.roll(
        edge[:, :, 0], -1, axis=1
    )
    if not (np.isfinite(ring).all() and (turn > 0).all() and (ring[:, 0] == ring[:, 4]).all()):
        return write_columns(path, as_array(list(rings)), columns, metadata)
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if len(ring):
        box = (ring[..., 0].min(), ring[..., 1].min(), ring[..., 0].max(), ring[..., 1].max())
        head["bbox"] = [round(float(v), PRECISION) for v in box]
    head["koban"] = {"generated": datetime.now(UTC).isoformat(timespec="seconds"), "licence": LICENCE,
                     **metadata}  # fmt: skip
    if not len(ring):
        return _write_collection(path, head, [])
    # neighbouring squares share corners (the same metric point, transformed alike): each distinct corner
    # is printed once, as complex numbers sort by (lon, lat)
    corners, at = np.unique(ring[:, :4, 0] + 1j * ring[:, :4, 1], return_inverse=True)
    flat = json.dumps(np.stack([corners.real, corners.imag], axis=1).ravel().tolist())[1:-1].split(", ")
    text = np.array([f"{x},{y}" for x, y in zip(flat[0::2], flat[1::2], strict=True)], dtype=object)
    a, b, c, d = (text[at.reshape(-1, 4)[:, k]].tolist() for k in range(4))
    shapes = [_SQUARE % (p, q, r, s, p) for p, q, r, s in zip(a, b, c, d, strict=True)]
    return _write_collection(path, head, _features(shapes, columns))


class ColumnRows(Sequence[tuple[Any, dict[str, Any]]]):
    """(geometry, properties) rows kept as whole columns: a row's dict is made only when it is read, and the
    writers take the columns as they are (`write_rows`, outputs.writers). The analysts' Gi* export of 20,000
    cells spent 0.08 s making a dict per cell and as long taking them apart again for the file."""

    def __init__(self, geometries: Sequence[Any], columns: Mapping[str, Sequence[Any]]) -> None:
        self.geometries = geometries
        self.columns = {name: list(values) for name, values in columns.items()}
        if any(len(values) != len(geometries) for values in self.columns.values()):
            raise ValueError("every column needs one value per geometry")

    def __len__(self) -> int:
        return len(self.geometries)

    def __iter__(self) -> Iterator[tuple[Any, dict[str, Any]]]:
        names = list(self.columns)
        for geom, values in zip(self.geometries, zip(*self.columns.values(), strict=True), strict=True):
            yield geom, dict(zip(names, values, strict=True))

    def _row(self, i: int) -> tuple[Any, dict[str, Any]]:
        return self.geometries[i], {name: values[i] for name, values in self.columns.items()}

    @overload
    def __getitem__(self, index: int) -> tuple[Any, dict[str, Any]]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, dict[str, Any]]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._row(i) for i in range(len(self))[index]]
        return self._row(range(len(self))[index])


def write_rows(
    path: Path, rows: Iterable[tuple[shapely.Geometry | None, Mapping[str, Any]]], metadata: Mapping[str, Any]
) -> int:
    """`write_columns` for (geometry, properties) rows; the file equals `write(path, feature_collection(...))`.
    Rows whose geometries are closed rings (hotspots(rings=True)) go through `write_squares`; ColumnRows are
    written from their columns."""
    if isinstance(rows, ColumnRows):
        geoms = rows.geometries
        if isinstance(geoms, np.ndarray) and geoms.ndim == 3 and geoms.shape[1:] == (5, 2):
            return write_squares(path, geoms, rows.columns, metadata)
        return write_columns(path, list(geoms), rows.columns, metadata)
    pairs = list(rows)
    props = [p for _, p in pairs]
    names = list(props[0]) if props else []
    first = props[0].keys() if props else None
    if all(p.keys() == first for p in props):
        columns: dict[str, list[Any]] = {n: [p[n] for p in props] for n in names}
        geoms = [g for g, _ in pairs]
        if geoms and isinstance(geoms[0], np.ndarray):
            rings = np.stack(
                cast(list[np.ndarray], geoms)
            )  # a ValueError unless every geometry is a ring of the same shape
            if rings.shape[1:] == (5, 2):
                return write_squares(path, rings, columns, metadata)
        return write_columns(path, geoms, columns, metadata)
    write(path, feature_collection(pairs, metadata))  # rows with different keys: one object per feature
    return len(pairs)


def write(path: Path, doc: Mapping[str, Any]) -> None:
    """Write atomically: a half-written export never replaces a good one."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)
