-- risk_layer_features: the features of one open-data layer in the store's metric CRS, for distances from the
-- study grid's cells: points as (x, y), every other geometry (lines, polygons) as WKB.
-- Parameters: $layer VARCHAR, $crs VARCHAR (the store's metric CRS, 'EPSG:NNNN').
WITH metric AS (
    SELECT ST_Transform(geom, 'EPSG:4326', $crs, always_xy := true) AS m
    FROM layers
    WHERE site = $site AND layer = $layer
)
SELECT
    ST_GeometryType(m) = 'POINT' AS is_point,
    CASE WHEN ST_GeometryType(m) = 'POINT' THEN ST_X(m) END AS x,
    CASE WHEN ST_GeometryType(m) = 'POINT' THEN ST_Y(m) END AS y,
    CASE WHEN ST_GeometryType(m) <> 'POINT' THEN ST_AsWKB(m) END AS wkb
FROM metric
WHERE NOT ST_IsEmpty(m);
