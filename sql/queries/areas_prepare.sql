-- areas_prepare: parse staged area features into TEMP table _areas_new, in EPSG:4326.
-- Reads _staged_areas(line, code, name, geojson). Parameters: $source_crs VARCHAR, $repair BOOLEAN.
CREATE OR REPLACE TEMP TABLE _areas_new AS
WITH parsed AS (
    SELECT line, code, name, ST_GeomFromGeoJSON(geojson) AS g FROM _staged_areas
),
projected AS (
    SELECT line, code, name,
           CASE WHEN $source_crs = 'EPSG:4326' THEN g
                ELSE ST_Transform(g, $source_crs, 'EPSG:4326', always_xy := true) END AS g
    FROM parsed
)
SELECT
    line,
    code,
    name,
    CASE WHEN $repair AND NOT ST_IsValid(g) THEN ST_CollectionExtract(ST_MakeValid(g), 3) ELSE g END AS geom,
    ST_GeometryType(g)::VARCHAR AS gtype,
    ST_IsValid(g) AS was_valid
FROM projected;
