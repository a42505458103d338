-- grid_counts_square: concerns per square cell of the metric grid, for one filter (only cells holding some).
-- Cell (ix, iy) = (floor(x / cell), floor(y / cell)) of the snapped place in the store's metric CRS (its
-- place_x, place_y, stored at ingest: migration 0008), the origin of the snapping grid.
-- With $groups a cell counts distinct near-duplicate groups (unit_key; a concern without a group is its own).
-- Parameters: $cell DOUBLE (metres), $groups BOOLEAN, and the filter (see koban_selected in macros.sql):
--   $themes VARCHAR[] (NULL = all but sensitive), $since, $until, $areas.
SELECT
    floor(place_x / $cell)::BIGINT AS ix,
    floor(place_y / $cell)::BIGINT AS iy,
    (CASE WHEN $groups THEN count(DISTINCT unit_key) ELSE count(*) END)::BIGINT AS n
FROM concerns
WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
GROUP BY ALL;
