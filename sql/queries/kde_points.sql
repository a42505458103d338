-- kde_points: the distinct snapped locations of the selected concerns, in the store's metric CRS, with their
-- weight (reports, or near-duplicate groups when $groups) and the snapping grid they came from.
-- Aggregates first (one row per location), then projects: 1M concerns on ~30k grid centres take ~0.05 s.
-- Parameters: $crs VARCHAR (meta 'metric_crs'), $themes VARCHAR[] (NULL = every non-sensitive theme),
--   $since TIMESTAMP, $until TIMESTAMP (NULL = open; since inclusive, until exclusive), $areas VARCHAR[]
--   (NULL = everywhere), $groups BOOLEAN.
WITH selected AS (
    SELECT
        geom,
        snap_m,
        CASE WHEN $groups THEN hash(coalesce(group_id, source || '/' || id)) END AS unit,
        count(*) AS n
    FROM concerns
    WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY ALL
),
located AS (
    SELECT geom, max(snap_m) AS snap_m, CASE WHEN $groups THEN count(*) ELSE sum(n) END AS weight
    FROM selected
    GROUP BY geom
)
SELECT
    ST_X(m) AS x,
    ST_Y(m) AS y,
    weight::DOUBLE AS weight,
    snap_m
FROM (SELECT ST_Transform(geom, 'EPSG:4326', $crs, always_xy := true) AS m, weight, snap_m FROM located)
ORDER BY x, y;
