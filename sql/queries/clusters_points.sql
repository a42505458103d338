-- clusters_points: the selected concerns per distinct snapped location and theme, in the store's metric CRS:
-- weight (reports, or near-duplicate groups when $groups) and first/last report time, for DBSCAN clusters.
-- Parameters: $crs VARCHAR (meta 'metric_crs'), $themes VARCHAR[] (NULL = every non-sensitive theme),
--   $since TIMESTAMP, $until TIMESTAMP (NULL = open; since inclusive, until exclusive), $areas VARCHAR[]
--   (NULL = everywhere), $groups BOOLEAN.
WITH selected AS (
    SELECT
        geom,
        theme,
        CASE WHEN $groups THEN hash(coalesce(group_id, source || '/' || id)) END AS unit,
        count(*) AS n,
        min(reported_at) AS first_at,
        max(reported_at) AS last_at
    FROM concerns
    WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY ALL
),
located AS (
    SELECT
        geom,
        theme,
        CASE WHEN $groups THEN count(*) ELSE sum(n) END AS weight,
        min(first_at) AS first_at,
        max(last_at) AS last_at
    FROM selected
    GROUP BY geom, theme
)
SELECT
    ST_X(m) AS x,
    ST_Y(m) AS y,
    theme,
    weight::DOUBLE AS weight,
    first_at,
    last_at
FROM (
    SELECT ST_Transform(geom, 'EPSG:4326', $crs, always_xy := true) AS m, theme, weight, first_at, last_at
    FROM located
)
ORDER BY x, y, theme;
