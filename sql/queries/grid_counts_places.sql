-- grid_counts_places: concerns per snapped place (lon, lat), for one filter; Python maps places to cells
-- where DuckDB cannot (H3 hexagons). Counted as in grid_counts_square.
-- Parameters: $groups BOOLEAN and the filter of koban_selected (macros.sql): $themes VARCHAR[], $since TIMESTAMP,
-- $until TIMESTAMP (exclusive), $areas VARCHAR[].
WITH per_place AS (
    SELECT
        geom,
        CASE WHEN $groups THEN count(DISTINCT unit_key) ELSE count(*) END AS n
    FROM concerns
    WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY geom
)
SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, n::BIGINT AS n FROM per_place;
