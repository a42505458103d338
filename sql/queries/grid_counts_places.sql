-- grid_counts_places: concerns per snapped place (lon, lat), for one filter; Python maps places to cells
-- where DuckDB cannot (H3 hexagons). Counted as in grid_counts_square.
-- Parameters: $groups BOOLEAN, $themes VARCHAR[], $since TIMESTAMP, $until TIMESTAMP (exclusive), $areas VARCHAR[].
WITH per_place AS (
    SELECT
        geom,
        CASE WHEN $groups THEN count(DISTINCT coalesce(group_id, source || '/' || id)) ELSE count(*) END AS n
    FROM concerns
    WHERE (CAST($themes AS VARCHAR[]) IS NULL OR list_contains(CAST($themes AS VARCHAR[]), theme))
      AND (CAST($since AS TIMESTAMP) IS NULL OR reported_at >= CAST($since AS TIMESTAMP))
      AND (CAST($until AS TIMESTAMP) IS NULL OR reported_at < CAST($until AS TIMESTAMP))
      AND (CAST($areas AS VARCHAR[]) IS NULL OR list_contains(CAST($areas AS VARCHAR[]), area_code))
    GROUP BY geom
)
SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, n::BIGINT AS n FROM per_place;
