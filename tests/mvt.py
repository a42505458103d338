"""A small Mapbox Vector Tile (2.1) decoder for tests: layers, features, their properties and geometry type.

Written out here (about 80 lines of protobuf wire format) so that the tests read what the browser reads
without another dependency; geometry commands are kept raw (a list of uint32).
"""

from __future__ import annotations

import gzip
import struct
from typing import Any

GEOM_TYPES = {0: "Unknown", 1: "Point", 2: "LineString", 3: "Polygon"}


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, Any]]:
    """(field number, value) pairs: int for varints, bytes for length-delimited, raw bytes for fixed."""
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, value))
    return out


def _packed(buf: bytes) -> list[int]:
    values, i = [], 0
    while i < len(buf):
        v, i = _varint(buf, i)
        values.append(v)
    return values


def _value(buf: bytes) -> Any:
    number, raw = _fields(buf)[0]
    if number == 1:
        return raw.decode("utf-8")
    if number == 2:
        return struct.unpack("<f", raw)[0]
    if number == 3:
        return struct.unpack("<d", raw)[0]
    if number == 6:
        return (raw >> 1) ^ -(raw & 1)
    if number == 7:
        return bool(raw)
    return raw  # 4 int64, 5 uint64


def decode(data: bytes) -> dict[str, dict[str, Any]]:
    """{layer name: {"extent": int, "features": [{"type": str, "properties": dict, "geometry": [int]}]}}.
    Gzip-compressed input is decompressed first."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    layers: dict[str, dict[str, Any]] = {}
    for number, raw in _fields(data):
        if number != 3:
            continue
        fields = _fields(raw)
        name = next(v.decode("utf-8") for n, v in fields if n == 1)
        keys = [v.decode("utf-8") for n, v in fields if n == 3]
        values = [_value(v) for n, v in fields if n == 4]
        extent = next((v for n, v in fields if n == 5), 4096)
        features = []
        for n, feature in fields:
            if n != 2:
                continue
            parts = _fields(feature)
            tags = next((_packed(v) for k, v in parts if k == 2), [])
            kind = next((v for k, v in parts if k == 3), 0)
            geometry = next((_packed(v) for k, v in parts if k == 4), [])
            properties = {keys[tags[j]]: values[tags[j + 1]] for j in range(0, len(tags), 2)}
            features.append({"type": GEOM_TYPES[kind], "properties": properties, "geometry": geometry})
        if name in layers:
            raise ValueError(f"layer {name} appears twice in one tile")
        layers[name] = {"extent": extent, "features": features}
    return layers
