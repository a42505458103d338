-- meeting_areas: code, name and polygon (WKB, EPSG:4326) of the named areas that exist.
-- Parameters: $areas VARCHAR[].
SELECT code, name, ST_AsWKB(geom) AS wkb
FROM areas
WHERE site = $site AND list_contains($areas::VARCHAR[], code)
ORDER BY code;
