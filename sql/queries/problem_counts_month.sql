-- problem_counts_month: concerns inside a place per calendar month (only months holding some), with each
-- month's cell key (koban_geo.privacy.cellkey). With $groups, distinct near-duplicate groups are counted
-- (and their group keys summed) instead of reports.
-- Parameters: $wkb BLOB (the place, EPSG:4326), $groups BOOLEAN, and the filter (koban_selected in
--   macros.sql): $themes VARCHAR[], $since, $until TIMESTAMP or NULL.
WITH units AS (
    SELECT
        date_trunc('month', reported_at)::DATE AS month,
        CASE WHEN $groups THEN unit_key END AS unit,
        count(*) AS reports,
        sum(record_key) AS record_keys,
        any_value(group_key) AS group_key
    FROM concerns
    WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), NULL)
      AND ST_Intersects(geom, ST_GeomFromWKB($wkb))
    GROUP BY ALL
)
SELECT
    month,
    CASE WHEN $groups THEN count(*) ELSE sum(reports) END AS n,
    ((CASE WHEN $groups THEN sum(group_key) ELSE sum(record_keys) END) % 256)::INTEGER AS ckey
FROM units
GROUP BY month
ORDER BY month;
