-- perception_centre: the mean centre (lon, lat) of the areas' centroids, to choose a metric CRS when the store
-- has none yet. NULLs when there are no areas. No parameters.
SELECT avg(ST_X(ST_Centroid(geom))) AS lon, avg(ST_Y(ST_Centroid(geom))) AS lat FROM areas WHERE site = $site;
