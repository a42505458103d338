-- problem_periods: concerns before [$t0, $t1) and after [$t1, $t2) a response start, inside the problem's
-- place and inside the comparison place, each with its cell key (koban_geo.privacy.cellkey). With $groups a
-- near-duplicate group counts once per period (its members share one snapped place) and adds its group key.
-- Parameters: $place BLOB, $comparison BLOB (both EPSG:4326 WKB), $themes VARCHAR[], $t0, $t1, $t2 TIMESTAMP,
--   $groups BOOLEAN.
WITH units AS (
    SELECT
        CASE WHEN $groups THEN unit_key END AS unit,
        reported_at >= CAST($t1 AS TIMESTAMP) AS after,
        ST_Intersects(geom, ST_GeomFromWKB($place)) AS in_place,
        ST_Intersects(geom, ST_GeomFromWKB($comparison)) AS in_comparison,
        count(*) AS reports,
        sum(record_key) AS record_keys,
        any_value(group_key) AS group_key
    FROM concerns
    WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($t0 AS TIMESTAMP),
                         CAST($t2 AS TIMESTAMP), NULL)
    GROUP BY ALL
),
keyed AS (
    SELECT after, in_place, in_comparison,
           CASE WHEN $groups THEN 1 ELSE reports END AS n,
           CASE WHEN $groups THEN group_key ELSE record_keys END AS k
    FROM units
)
SELECT
    coalesce(sum(n) FILTER (WHERE in_place AND NOT after), 0)::BIGINT AS place_before,
    coalesce(sum(n) FILTER (WHERE in_place AND after), 0)::BIGINT AS place_after,
    coalesce(sum(n) FILTER (WHERE in_comparison AND NOT after), 0)::BIGINT AS comparison_before,
    coalesce(sum(n) FILTER (WHERE in_comparison AND after), 0)::BIGINT AS comparison_after,
    (SELECT max(reported_at) FROM concerns WHERE site = $site) AS newest,
    (coalesce(sum(k) FILTER (WHERE in_place AND NOT after), 0) % 256)::INTEGER AS place_before_ckey,
    (coalesce(sum(k) FILTER (WHERE in_place AND after), 0) % 256)::INTEGER AS place_after_ckey,
    (coalesce(sum(k) FILTER (WHERE in_comparison AND NOT after), 0) % 256)::INTEGER AS comparison_before_ckey,
    (coalesce(sum(k) FILTER (WHERE in_comparison AND after), 0) % 256)::INTEGER AS comparison_after_ckey
FROM keyed;
