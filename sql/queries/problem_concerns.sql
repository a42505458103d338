-- problem_concerns: the keys of the concerns inside a place (officers only), newest first.
-- Parameters: $wkb BLOB (the place, EPSG:4326), $themes VARCHAR[], $since, $until TIMESTAMP or NULL,
--   $limit INTEGER.
SELECT source, id, reported_at, theme
FROM concerns
WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), NULL)
  AND ST_Intersects(geom, ST_GeomFromWKB($wkb))
ORDER BY reported_at DESC, source, id
LIMIT $limit;
