-- areas_assign: after areas change, give area codes to concerns that have none (from their snapped point)
-- and recompute recorded crime's (published points). No parameters.
UPDATE concerns AS c SET area_code = a.code
FROM areas AS a
WHERE c.site = $site AND a.site = $site AND c.area_code IS NULL AND ST_Intersects(a.geom, c.geom);
UPDATE crime SET area_code = NULL WHERE site = $site;
UPDATE crime AS c SET area_code = a.code
FROM areas AS a
WHERE c.site = $site AND a.site = $site AND c.geom IS NOT NULL AND ST_Intersects(a.geom, c.geom);
