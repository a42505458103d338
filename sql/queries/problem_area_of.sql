-- problem_area_of: the code of the area holding a point (the centre of a place), or no row.
-- Parameters: $lon DOUBLE, $lat DOUBLE.
SELECT code FROM areas WHERE site = $site AND ST_Intersects(geom, ST_Point($lon, $lat)) ORDER BY code LIMIT 1;
