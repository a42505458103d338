-- grid_places: every distinct snapped place (lon, lat) of the concerns, ordered. No parameters.
SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM (SELECT DISTINCT geom FROM concerns WHERE site = $site)
ORDER BY lon, lat;
