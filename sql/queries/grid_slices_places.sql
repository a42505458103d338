-- grid_slices_places: concerns per snapped place (lon, lat) and time slice, for one filter (H3 hexagons).
-- Parameters: as grid_counts_places, plus $freq VARCHAR ('month' or 'week').
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
)
SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, slice, n::BIGINT AS n FROM per_place;
