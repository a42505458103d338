-- grid_counts_places: concerns per snapped place (lon, lat), for one filter, with the place's cell key (sum of
-- its records' keys mod 256); Python maps places to cells where DuckDB cannot (H3 hexagons) and adds the keys.
-- Counted as in grid_counts_square.
-- Parameters: $groups BOOLEAN and the filter of koban_selected (macros.sql): $themes VARCHAR[], $since TIMESTAMP,
-- $until TIMESTAMP (exclusive), $areas VARCHAR[].
WITH units AS (
    SELECT
        geom,
        CASE WHEN $groups THEN unit_key END AS unit,
        count(*) AS reports,
        sum(record_key) AS record_keys,
        any_value(group_key) AS group_key
    FROM concerns
    WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY ALL
),
per_place AS (
    SELECT
        geom,
        CASE WHEN $groups THEN count(*) ELSE sum(reports) END AS n,
        (CASE WHEN $groups THEN sum(group_key) ELSE sum(record_keys) END) % 256 AS ckey
    FROM units
    GROUP BY geom
)
SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, n::BIGINT AS n, ckey::INTEGER AS ckey FROM per_place;
