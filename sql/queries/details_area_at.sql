-- details_area_at: the area containing a point (lon/lat), if any. Parameters: $lon DOUBLE, $lat DOUBLE.
SELECT code, name
FROM areas
WHERE site = $site AND ST_Contains(geom, ST_Point($lon, $lat))
ORDER BY code
LIMIT 1;
