-- areas_bounds: the extent of the areas, the extent a map opens on (min_lon, min_lat, max_lon, max_lat; NULLs when
-- the store has no areas: then areas.bounds asks areas_bounds_concerns, so the concerns are read only then).
-- No parameters.
SELECT min(ST_XMin(geom)) AS min_lon, min(ST_YMin(geom)) AS min_lat,
       max(ST_XMax(geom)) AS max_lon, max(ST_YMax(geom)) AS max_lat
FROM areas
WHERE site = $site;
