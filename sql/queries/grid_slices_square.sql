-- grid_slices_square: concerns per square cell and time slice (date_trunc($freq) of reported_at), for one
-- filter, with the cell key; counted as in grid_counts_square (a group counts in every slice it has reports in).
-- Parameters: as grid_counts_square, plus $freq VARCHAR ('month' or 'week').
WITH units AS (
    SELECT
        floor(place_x / $cell)::BIGINT AS ix,
        floor(place_y / $cell)::BIGINT AS iy,
        date_trunc($freq, reported_at) AS slice,
        CASE WHEN $groups THEN unit_key END AS unit,
        count(*) AS reports,
        sum(record_key) AS record_keys,
        any_value(group_key) AS group_key
    FROM concerns
    WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY ALL
)
SELECT
    ix,
    iy,
    slice,
    (CASE WHEN $groups THEN count(*) ELSE sum(reports) END)::BIGINT AS n,
    ((CASE WHEN $groups THEN sum(group_key) ELSE sum(record_keys) END) % 256)::INTEGER AS ckey
FROM units
GROUP BY ix, iy, slice;
