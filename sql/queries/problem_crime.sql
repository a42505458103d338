-- problem_crime: recorded crime (police.uk open data) inside a place per crime type, largest first.
-- A police.uk month counts when it overlaps the window.
-- Parameters: $wkb BLOB (the place, EPSG:4326), $since, $until TIMESTAMP or NULL.
SELECT crime_type, theme, count(*)::BIGINT AS n
FROM crime
WHERE site = $site AND geom IS NOT NULL
  AND ST_Intersects(geom, ST_GeomFromWKB($wkb))
  AND (CAST($since AS TIMESTAMP) IS NULL OR month + INTERVAL 1 MONTH > CAST($since AS TIMESTAMP))
  AND (CAST($until AS TIMESTAMP) IS NULL OR month < CAST($until AS TIMESTAMP))
GROUP BY ALL
ORDER BY n DESC, crime_type;
