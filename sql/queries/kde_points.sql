-- kde_points: the distinct snapped locations of the selected concerns, in the store's metric CRS, with their
-- weight (reports, or near-duplicate groups when $groups) and the snapping grid they came from.
-- One row per location, from the metric coordinates stored at ingest (place_x, place_y: migration 0008).
-- Parameters: $themes VARCHAR[] (NULL = every non-sensitive theme),
--   $since TIMESTAMP, $until TIMESTAMP (NULL = open; since inclusive, until exclusive), $areas VARCHAR[]
--   (NULL = everywhere), $groups BOOLEAN.
WITH selected AS (
    SELECT
        place_x,
        place_y,
        snap_m,
        CASE WHEN $groups THEN unit_key END AS unit,
        count(*) AS n
    FROM concerns
    WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY ALL
),
located AS (
    SELECT place_x, place_y, max(snap_m) AS snap_m, CASE WHEN $groups THEN count(*) ELSE sum(n) END AS weight
    FROM selected
    GROUP BY place_x, place_y
)
SELECT place_x AS x, place_y AS y, weight::DOUBLE AS weight, snap_m
FROM located
ORDER BY x, y;
