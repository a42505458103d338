-- areas_streets: the lines of the open-data layer 'streets', drawn when there are no base-map tiles (a closed
-- network without a tile server), simplified to about a metre and as WKB. Parameters: $layer VARCHAR.
SELECT ST_AsWKB(ST_SimplifyPreserveTopology(geom, 0.00001)) AS wkb
FROM layers
WHERE site = $site AND layer = $layer AND ST_GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING')
ORDER BY feature_id;
