-- basemap_osm: read an OpenStreetMap extract (.osm.pbf) and build the geometries the basemap draws, as TEMP
-- tables of an in-memory connection (koban_geo.basemap.build). Parameters: $path VARCHAR (the extract).
--   bm_osm    the extract as ST_ReadOSM gives it (nodes, ways, relations with their tags)
--   bm_lines  every way as a line of its nodes, in order (ways cut by the extract's edge keep the nodes
--             inside it; `complete` tells whether every node was found)
--   bm_areas  closed ways with area tags and multipolygon relations, as polygons (EPSG:4326), with tags
CREATE OR REPLACE TEMP TABLE bm_osm AS
SELECT kind, id, tags, refs, lat, lon, ref_roles, ref_types
FROM ST_ReadOSM($path);

CREATE OR REPLACE TEMP TABLE bm_lines AS
WITH refs AS (
    SELECT id, unnest(refs) AS ref, generate_subscripts(refs, 1) AS i, len(refs) AS n, refs[1] = refs[-1] AS ring
    FROM bm_osm
    WHERE kind = 'way'
), points AS (
    SELECT refs.id, refs.i, refs.n, refs.ring, ST_Point(node.lon, node.lat) AS pt
    FROM refs JOIN bm_osm AS node ON node.kind = 'node' AND node.id = refs.ref
)
SELECT id, count(*) = any_value(n) AS complete, any_value(ring) AS ring,
       ST_MakeLine(list(pt ORDER BY i)) AS line
FROM points
GROUP BY id
HAVING count(*) >= 2;

-- Closed ways whose tags make them an area (not a roundabout or a fence), and multipolygon relations
-- (outer and inner ways assembled by ST_BuildArea; a relation cut by the extract's edge keeps what closes).
CREATE OR REPLACE TEMP TABLE bm_areas AS
WITH way_areas AS (
    SELECT w.id, 'way' AS kind, w.tags, ST_MakeValid(ST_MakePolygon(l.line)) AS geom
    FROM bm_osm AS w JOIN bm_lines AS l ON w.kind = 'way' AND l.id = w.id
    WHERE l.complete AND l.ring AND ST_NPoints(l.line) >= 4 AND coalesce(w.tags['area'], '') <> 'no'
      AND (w.tags['building'] IS NOT NULL OR w.tags['landuse'] IS NOT NULL OR w.tags['leisure'] IS NOT NULL
           OR w.tags['amenity'] IS NOT NULL OR w.tags['water'] IS NOT NULL OR w.tags['place'] IS NOT NULL
           OR w.tags['waterway'] = 'riverbank' OR w.tags['area'] = 'yes' OR w.tags['area:highway'] IS NOT NULL
           OR w.tags['natural'] NOT IN ('coastline', 'tree_row', 'cliff', 'ridge', 'arete'))
), members AS (
    SELECT r.id, r.tags, unnest(r.refs) AS ref, unnest(r.ref_types) AS ref_type
    FROM bm_osm AS r
    WHERE r.kind = 'relation' AND r.tags['type'] = 'multipolygon'
), relation_areas AS (
    SELECT m.id, 'relation' AS kind, any_value(m.tags) AS tags,
           ST_MakeValid(ST_BuildArea(ST_Collect(list(l.line ORDER BY l.id)))) AS geom
    FROM members AS m JOIN bm_lines AS l ON m.ref_type = 'way' AND l.id = m.ref
    GROUP BY m.id
)
SELECT id, kind, tags, geom
FROM (SELECT * FROM way_areas UNION ALL SELECT * FROM relation_areas)
WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) AND ST_GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON');
