-- grid_slices_square: concerns per square cell and time slice (date_trunc($freq) of reported_at), for one
-- filter; counted as in grid_counts_square (a group counts in every slice it has reports in).
-- Parameters: as grid_counts_square, plus $freq VARCHAR ('month' or 'week').
WITH per_place AS (
    SELECT
        geom,
        date_trunc($freq, reported_at) AS slice,
        CASE WHEN $groups THEN count(DISTINCT coalesce(group_id, source || '/' || id)) ELSE count(*) END AS n
    FROM concerns
    WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY geom, slice
),
metric AS (
    SELECT ST_Transform(geom, 'EPSG:4326', $crs, always_xy := true) AS m, slice, n FROM per_place
)
SELECT floor(ST_X(m) / $cell)::BIGINT AS ix, floor(ST_Y(m) / $cell)::BIGINT AS iy, slice, sum(n)::BIGINT AS n
FROM metric
GROUP BY ALL;
