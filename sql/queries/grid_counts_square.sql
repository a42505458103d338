-- grid_counts_square: concerns per square cell of the metric grid, for one filter (only cells holding some).
-- Cell (ix, iy) = (floor(x / cell), floor(y / cell)) of the snapped place in the metric CRS, the origin of
-- the snapping grid. Counted per place first, so each place is transformed once, not once per concern.
-- With $groups a cell counts distinct groups (a concern without one is its own): per place, then summed,
-- which is exact because a group never spans places (koban_geo.grouping: same theme, same snapped place).
-- Parameters: $crs VARCHAR (metric CRS), $cell DOUBLE (metres), $groups BOOLEAN, and the filter
--   (see koban_selected in macros.sql): $themes VARCHAR[] (NULL = all but sensitive), $since, $until, $areas.
WITH per_place AS (
    SELECT
        geom,
        CASE WHEN $groups THEN count(DISTINCT coalesce(group_id, source || '/' || id)) ELSE count(*) END AS n
    FROM concerns
    WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY geom
),
metric AS (
    SELECT ST_Transform(geom, 'EPSG:4326', $crs, always_xy := true) AS m, n FROM per_place
)
SELECT floor(ST_X(m) / $cell)::BIGINT AS ix, floor(ST_Y(m) / $cell)::BIGINT AS iy, sum(n)::BIGINT AS n
FROM metric
GROUP BY ALL;
