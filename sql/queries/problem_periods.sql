-- problem_periods: concerns before [$t0, $t1) and after [$t1, $t2) a response start, inside the problem's
-- place and inside the comparison place. With $groups a near-duplicate group counts once per period.
-- Parameters: $place BLOB, $comparison BLOB (both EPSG:4326 WKB), $themes VARCHAR[], $t0, $t1, $t2 TIMESTAMP,
--   $groups BOOLEAN.
WITH selected AS (
    SELECT
        coalesce(group_id, source || '/' || id) AS unit,
        reported_at >= CAST($t1 AS TIMESTAMP) AS after,
        ST_Intersects(geom, ST_GeomFromWKB($place)) AS in_place,
        ST_Intersects(geom, ST_GeomFromWKB($comparison)) AS in_comparison
    FROM concerns
    WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($t0 AS TIMESTAMP),
                         CAST($t2 AS TIMESTAMP), NULL)
),
counted AS (
    SELECT
        CASE WHEN $groups THEN count(DISTINCT unit) FILTER (WHERE in_place AND NOT after)
             ELSE count(*) FILTER (WHERE in_place AND NOT after) END AS place_before,
        CASE WHEN $groups THEN count(DISTINCT unit) FILTER (WHERE in_place AND after)
             ELSE count(*) FILTER (WHERE in_place AND after) END AS place_after,
        CASE WHEN $groups THEN count(DISTINCT unit) FILTER (WHERE in_comparison AND NOT after)
             ELSE count(*) FILTER (WHERE in_comparison AND NOT after) END AS comparison_before,
        CASE WHEN $groups THEN count(DISTINCT unit) FILTER (WHERE in_comparison AND after)
             ELSE count(*) FILTER (WHERE in_comparison AND after) END AS comparison_after
    FROM selected
)
SELECT place_before::BIGINT, place_after::BIGINT, comparison_before::BIGINT, comparison_after::BIGINT,
       (SELECT max(reported_at) FROM concerns) AS newest
FROM counted;
