-- grid_areas_centre: lon/lat of the centroid of all areas (to choose a metric CRS when the store has none).
-- No parameters.
SELECT ST_X(c) AS lon, ST_Y(c) AS lat FROM (SELECT ST_Centroid(ST_Union_Agg(geom)) AS c FROM areas WHERE site = $site);
