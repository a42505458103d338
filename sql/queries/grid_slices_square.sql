-- grid_slices_square: concerns per square cell and time slice (date_trunc($freq) of reported_at), for one
-- filter; counted as in grid_counts_square (a group counts in every slice it has reports in).
-- Parameters: as grid_counts_square, plus $freq VARCHAR ('month' or 'week').
SELECT
    floor(place_x / $cell)::BIGINT AS ix,
    floor(place_y / $cell)::BIGINT AS iy,
    date_trunc($freq, reported_at) AS slice,
    (CASE WHEN $groups THEN count(DISTINCT unit_key) ELSE count(*) END)::BIGINT AS n
FROM concerns
WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
GROUP BY ALL;
