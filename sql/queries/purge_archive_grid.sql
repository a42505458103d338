-- purge_archive_grid: grid_counts_square over concern_archive: archived concerns (or groups) per square cell,
-- for counts published before a purge. The same cells as grid_counts_square: (floor(x / cell), floor(y / cell))
-- of the snapped place in the metric CRS. Months are whole: $since and $until should be firsts of a month.
-- Parameters: $crs VARCHAR, $cell DOUBLE, $groups BOOLEAN, $themes VARCHAR[] (NULL = all but sensitive),
--   $since, $until TIMESTAMP, $areas VARCHAR[] (see koban_selected in macros.sql).
WITH per_place AS (
    SELECT place AS geom, sum(CASE WHEN $groups THEN groups ELSE reports END) AS n
    FROM concern_archive
    WHERE site = $site AND koban_selected(theme, month::TIMESTAMP, area_code, CAST($themes AS VARCHAR[]),
                         CAST($since AS TIMESTAMP), CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY place
),
metric AS (
    SELECT ST_Transform(geom, 'EPSG:4326', $crs, always_xy := true) AS m, n FROM per_place
)
SELECT floor(ST_X(m) / $cell)::BIGINT AS ix, floor(ST_Y(m) / $cell)::BIGINT AS iy, sum(n)::BIGINT AS n
FROM metric
GROUP BY ALL;
