-- basemap_features: what the basemap draws, in the Protomaps basemap v4 layers and kinds (the names
-- protomaps-leaflet's styles and ours filter on), from the TEMP tables of basemap_osm. No parameters.
-- bm_features: layer, kind, kind_detail, name, min_zoom (first zoom it is drawn at), is_tunnel, is_bridge
-- (TRUE or NULL), sort_rank (drawing order inside a layer), osm_id (the OSM id it comes from, the last key of
-- that order, so that the same extract gives the same bytes), area (m² in EPSG:3857, NULL for lines and
-- points) and geom (EPSG:3857, what tiles are cut in).
CREATE OR REPLACE TEMP TABLE bm_features AS
WITH way_tags AS (
    SELECT l.id, l.line, w.tags,
           coalesce(w.tags['tunnel'], 'no') NOT IN ('no', 'false') OR w.tags['location'] = 'underground' AS tunnel,
           coalesce(w.tags['bridge'], 'no') NOT IN ('no', 'false') AS bridge
    FROM bm_lines AS l JOIN bm_osm AS w ON w.kind = 'way' AND w.id = l.id
), road_kinds AS (
    SELECT id, line, tags['name'] AS name, tunnel, bridge,
        CASE
            WHEN tags['highway'] IN ('motorway', 'trunk', 'motorway_link', 'trunk_link') THEN 'highway'
            WHEN tags['highway'] IN ('primary', 'secondary', 'tertiary', 'primary_link', 'secondary_link',
                                     'tertiary_link') THEN 'major_road'
            WHEN tags['highway'] IN ('residential', 'unclassified', 'living_street', 'road', 'service',
                                     'busway') THEN 'minor_road'
            WHEN tags['highway'] IN ('pedestrian', 'footway', 'path', 'cycleway', 'steps', 'bridleway',
                                     'track', 'trail') THEN 'path'
            WHEN tags['railway'] IN ('rail', 'light_rail', 'narrow_gauge', 'tram', 'subway', 'funicular',
                                     'monorail', 'preserved') THEN 'rail'
        END AS kind,
        coalesce(tags['highway'], tags['railway']) AS kind_detail
    FROM way_tags
    WHERE (tags['highway'] IS NOT NULL OR tags['railway'] IS NOT NULL)
      AND coalesce(tags['area'], 'no') <> 'yes'
), roads AS (
    SELECT *,
        CASE kind
            WHEN 'highway' THEN 12 WHEN 'major_road' THEN 12 WHEN 'rail' THEN 12
            WHEN 'minor_road' THEN CASE WHEN kind_detail = 'service' THEN 14 ELSE 13 END
            ELSE CASE WHEN kind_detail = 'pedestrian' THEN 13 ELSE 14 END
        END AS min_zoom,
        CASE kind WHEN 'path' THEN 1 WHEN 'minor_road' THEN 2 WHEN 'major_road' THEN 3 WHEN 'highway' THEN 4
                  ELSE 5 END AS sort_rank
    FROM road_kinds
    WHERE kind IS NOT NULL
), named_roads AS (
    -- A named street is many ways in OSM (split wherever a tag changes): joined into its connected runs,
    -- so a label has room along it. Each run stays one feature (a small geometry per tile).
    SELECT kind, kind_detail, name, min_zoom, tunnel, bridge, sort_rank, min(id) AS id,
           unnest(ST_Dump(ST_LineMerge(ST_Collect(list(line ORDER BY id))))).geom AS line
    FROM roads
    WHERE name IS NOT NULL
    GROUP BY ALL
), area_tags AS (
    SELECT id, geom, tags, tags['name'] AS name FROM bm_areas
), landuse AS (
    SELECT id, geom, name,
        CASE
            WHEN tags['leisure'] IN ('park', 'garden', 'nature_reserve') THEN 'park'
            WHEN tags['leisure'] IN ('playground', 'pitch', 'golf_course', 'dog_park') THEN tags['leisure']
            WHEN tags['leisure'] = 'common' THEN 'village_green'
            WHEN tags['landuse'] IN ('grass', 'village_green', 'recreation_ground', 'allotments', 'cemetery',
                                     'forest', 'meadow', 'industrial', 'railway', 'military') THEN tags['landuse']
            WHEN tags['amenity'] = 'grave_yard' THEN 'cemetery'
            WHEN tags['natural'] IN ('wood', 'scrub', 'grassland', 'heath', 'beach', 'sand', 'wetland',
                                     'bare_rock') THEN tags['natural']
            WHEN tags['amenity'] IN ('hospital', 'school', 'university', 'college', 'kindergarten')
                THEN tags['amenity']
            WHEN tags['highway'] = 'pedestrian' OR tags['area:highway'] = 'pedestrian'
                 OR tags['place'] = 'square' THEN 'pedestrian'
            WHEN tags['man_made'] = 'pier' THEN 'pier'
        END AS kind
    FROM area_tags
    WHERE tags['building'] IS NULL
), water_areas AS (
    SELECT id, geom, name, coalesce(tags['water'], tags['natural'], tags['landuse'], tags['waterway']) AS kind_detail
    FROM area_tags
    WHERE tags['natural'] = 'water' OR tags['water'] IS NOT NULL OR tags['waterway'] = 'riverbank'
       OR tags['landuse'] IN ('reservoir', 'basin')
), places AS (
    SELECT id, ST_Point(lon, lat) AS geom, tags['name'] AS name, tags['place'] AS kind_detail,
        CASE WHEN tags['place'] IN ('city', 'town', 'village', 'hamlet') THEN 'locality'
             ELSE 'neighbourhood' END AS kind,
        CASE tags['place'] WHEN 'city' THEN 8 WHEN 'town' THEN 10 WHEN 'village' THEN 11 WHEN 'suburb' THEN 12
                           WHEN 'borough' THEN 12 ELSE 13 END AS min_zoom
    FROM bm_osm
    WHERE kind = 'node' AND tags['name'] IS NOT NULL
      AND tags['place'] IN ('city', 'town', 'village', 'hamlet', 'borough', 'suburb', 'quarter',
                            'neighbourhood')
), pois AS (
    -- label points: stations, named squares and parks (at a point inside the polygon)
    SELECT id, ST_Point(lon, lat) AS geom, tags['name'] AS name, 'station' AS kind, 13 AS min_zoom
    FROM bm_osm
    WHERE kind = 'node' AND tags['name'] IS NOT NULL AND tags['railway'] = 'station'
    UNION ALL
    SELECT id, ST_Point(lon, lat), tags['name'], 'square', 15
    FROM bm_osm
    WHERE kind = 'node' AND tags['name'] IS NOT NULL AND tags['place'] = 'square'
    UNION ALL
    SELECT id, ST_PointOnSurface(geom), name, kind, CASE WHEN kind = 'park' THEN 14 ELSE 15 END
    FROM (SELECT id, geom, name, CASE WHEN tags['place'] = 'square' THEN 'square'
                                  WHEN tags['leisure'] IN ('park', 'garden') THEN 'park' END AS kind
          FROM area_tags WHERE name IS NOT NULL)
    WHERE kind IS NOT NULL
), features AS (
    SELECT 'roads' AS layer, kind, kind_detail, name, min_zoom, tunnel, bridge, sort_rank, id, line AS geom
    FROM roads WHERE name IS NULL
    UNION ALL
    SELECT 'roads', kind, kind_detail, name, min_zoom, tunnel, bridge, sort_rank, id, line FROM named_roads
    UNION ALL
    SELECT 'buildings', 'building', NULL, NULL, 14, NULL, NULL, 1, id, geom
    FROM area_tags WHERE coalesce(tags['building'], 'no') <> 'no'
    UNION ALL
    SELECT 'landuse', kind, NULL, name, 12, NULL, NULL,
           CASE WHEN kind = 'pedestrian' THEN 2 ELSE 1 END, id, geom
    FROM landuse WHERE kind IS NOT NULL
    UNION ALL
    SELECT 'water', 'water', kind_detail, name, 12, NULL, NULL, 1, id, geom FROM water_areas
    UNION ALL
    SELECT 'water', CASE WHEN tags['waterway'] IN ('river', 'canal') THEN tags['waterway'] ELSE 'stream' END,
           tags['waterway'], tags['name'], 13, tunnel, NULL, 2, id, line
    FROM way_tags WHERE tags['waterway'] IN ('river', 'canal', 'stream') AND NOT tunnel
    UNION ALL
    SELECT 'water', 'lake', kind_detail, name, 13, NULL, NULL, 3, id, ST_PointOnSurface(geom)
    FROM water_areas WHERE name IS NOT NULL
    UNION ALL
    SELECT 'places', kind, kind_detail, name, min_zoom, NULL, NULL, 1, id, geom FROM places
    UNION ALL
    SELECT 'pois', kind, NULL, name, min_zoom, NULL, NULL, 1, id, geom FROM pois
)
SELECT layer, kind, kind_detail, name, min_zoom, nullif(tunnel, FALSE) AS is_tunnel,
       nullif(bridge, FALSE) AS is_bridge, sort_rank, id AS osm_id,
       CASE WHEN ST_Dimension(geom) = 2 THEN ST_Area(g) END AS area, g AS geom
FROM (SELECT *, ST_Transform(geom, 'EPSG:4326', 'EPSG:3857', always_xy := true) AS g FROM features);

-- The earth layer: the extract's extent (land; the sea is not built from coastlines yet).
INSERT INTO bm_features
SELECT 'earth', 'earth', NULL, NULL, 0, NULL, NULL, 0, 0, NULL, ST_Envelope(ST_Collect(list(geom)))
FROM bm_features;
