-- problem_area: an area's name and polygon (WKB, EPSG:4326), or no row.
-- Parameters: $code VARCHAR.
SELECT code, name, ST_AsWKB(geom) AS geom FROM areas WHERE site = $site AND code = $code;
