-- problem_counts_month: concerns inside a place per calendar month (only months holding some).
-- With $groups, distinct near-duplicate groups are counted instead of reports.
-- Parameters: $wkb BLOB (the place, EPSG:4326), $groups BOOLEAN, and the filter (koban_selected in
--   macros.sql): $themes VARCHAR[], $since, $until TIMESTAMP or NULL.
SELECT
    date_trunc('month', reported_at)::DATE AS month,
    CASE WHEN $groups THEN count(DISTINCT unit_key) ELSE count(*) END AS n
FROM concerns
WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), NULL)
  AND ST_Intersects(geom, ST_GeomFromWKB($wkb))
GROUP BY ALL
ORDER BY month;
