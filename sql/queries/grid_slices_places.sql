-- grid_slices_places: concerns per snapped place (lon, lat) and time slice, for one filter (H3 hexagons), with
-- the cell key; counted as in grid_counts_square.
-- Parameters: as grid_counts_places, plus $freq VARCHAR ('month' or 'week').
WITH units AS (
    SELECT
        geom,
        date_trunc($freq, reported_at) AS slice,
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
        slice,
        CASE WHEN $groups THEN count(*) ELSE sum(reports) END AS n,
        (CASE WHEN $groups THEN sum(group_key) ELSE sum(record_keys) END) % 256 AS ckey
    FROM units
    GROUP BY geom, slice
)
SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, slice, n::BIGINT AS n, ckey::INTEGER AS ckey FROM per_place;
