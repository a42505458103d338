-- clusters_points: the selected concerns per distinct snapped location and theme, in the store's metric CRS:
-- weight (reports, or near-duplicate groups when $groups) and first/last report time, for DBSCAN clusters.
-- Locations are the metric coordinates stored at ingest (place_x, place_y: migration 0008).
-- Parameters: $themes VARCHAR[] (NULL = every non-sensitive theme),
--   $since TIMESTAMP, $until TIMESTAMP (NULL = open; since inclusive, until exclusive), $areas VARCHAR[]
--   (NULL = everywhere), $groups BOOLEAN.
WITH selected AS (
    SELECT
        place_x,
        place_y,
        theme,
        CASE WHEN $groups THEN unit_key END AS unit,
        count(*) AS n,
        min(reported_at) AS first_at,
        max(reported_at) AS last_at
    FROM concerns
    WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY ALL
),
located AS (
    SELECT
        place_x,
        place_y,
        theme,
        CASE WHEN $groups THEN count(*) ELSE sum(n) END AS weight,
        min(first_at) AS first_at,
        max(last_at) AS last_at
    FROM selected
    GROUP BY place_x, place_y, theme
)
SELECT place_x AS x, place_y AS y, theme, weight::DOUBLE AS weight, first_at, last_at
FROM located
ORDER BY x, y, theme;
