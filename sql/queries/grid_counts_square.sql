-- grid_counts_square: concerns per square cell of the metric grid, for one filter (only cells holding some).
-- Cell (ix, iy) = (floor(x / cell), floor(y / cell)) of the snapped place in the metric CRS, the origin of
-- the snapping grid. Counted per place first, so each place is transformed once, not once per concern.
-- With $groups a cell counts distinct groups (a concern without one is its own): per place, then summed,
-- which is exact because a group never spans places (koban_geo.grouping: same theme, same snapped place).
-- Parameters: $crs VARCHAR (metric CRS), $cell DOUBLE (metres), $groups BOOLEAN, and the filter
--   (NULL = no restriction): $themes VARCHAR[], $since TIMESTAMP, $until TIMESTAMP (exclusive), $areas VARCHAR[].
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
),
metric AS (
    SELECT ST_Transform(geom, 'EPSG:4326', $crs, always_xy := true) AS m, n FROM per_place
)
SELECT floor(ST_X(m) / $cell)::BIGINT AS ix, floor(ST_Y(m) / $cell)::BIGINT AS iy, sum(n)::BIGINT AS n
FROM metric
GROUP BY ALL;
