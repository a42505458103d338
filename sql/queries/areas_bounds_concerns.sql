-- areas_bounds_concerns: the extent of the concerns (min_lon, min_lat, max_lon, max_lat; NULLs in an empty store),
-- for a store without areas (areas_bounds). No parameters.
SELECT min(ST_X(geom)) AS min_lon, min(ST_Y(geom)) AS min_lat, max(ST_X(geom)) AS max_lon, max(ST_Y(geom)) AS max_lat
FROM concerns
WHERE site = $site;
