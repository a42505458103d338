-- problem_layers: open-data features of each layer inside (or touching) a place, e.g. streetlights.
-- Parameters: $wkb BLOB (the place, EPSG:4326).
SELECT layer, count(*)::BIGINT AS n
FROM layers
WHERE site = $site AND ST_Intersects(geom, ST_GeomFromWKB($wkb))
GROUP BY layer
ORDER BY layer;
