-- grid_slices_places: concerns per snapped place (lon, lat) and time slice, for one filter (H3 hexagons).
-- Parameters: as grid_counts_places, plus $freq VARCHAR ('month' or 'week').
WITH per_place AS (
    SELECT
        geom,
        date_trunc($freq, reported_at) AS slice,
        CASE WHEN $groups THEN count(DISTINCT unit_key) ELSE count(*) END AS n
    FROM concerns
    WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY geom, slice
)
SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, slice, n::BIGINT AS n FROM per_place;
