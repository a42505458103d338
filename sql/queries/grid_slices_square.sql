-- grid_slices_square: concerns per square cell and time slice (date_trunc($freq) of reported_at), for one
-- filter; counted as in grid_counts_square (a group counts in every slice it has reports in).
-- Parameters: as grid_counts_square, plus $freq VARCHAR ('month' or 'week').
WITH per_place AS (
    SELECT
        geom,
        date_trunc($freq, reported_at) AS slice,
        CASE WHEN $groups THEN count(DISTINCT coalesce(group_id, source || '/' || id)) ELSE count(*) END AS n
    FROM concerns
    WHERE (CAST($themes AS VARCHAR[]) IS NULL OR list_contains(CAST($themes AS VARCHAR[]), theme))
      AND (CAST($since AS TIMESTAMP) IS NULL OR reported_at >= CAST($since AS TIMESTAMP))
      AND (CAST($until AS TIMESTAMP) IS NULL OR reported_at < CAST($until AS TIMESTAMP))
      AND (CAST($areas AS VARCHAR[]) IS NULL OR list_contains(CAST($areas AS VARCHAR[]), area_code))
    GROUP BY geom, slice
),
metric AS (
    SELECT ST_Transform(geom, 'EPSG:4326', $crs, always_xy := true) AS m, slice, n FROM per_place
)
SELECT floor(ST_X(m) / $cell)::BIGINT AS ix, floor(ST_Y(m) / $cell)::BIGINT AS iy, slice, sum(n)::BIGINT AS n
FROM metric
GROUP BY ALL;
