-- grid_counts_square: concerns per square cell of the metric grid, for one filter (only cells holding some),
-- with the cell's key for the cell key method (koban_geo.privacy.cellkey): the sum of its records' keys mod 256.
-- Cell (ix, iy) = (floor(x / cell), floor(y / cell)) of the snapped place in the store's metric CRS (its
-- place_x, place_y, stored at ingest: migration 0008), the origin of the snapping grid.
-- With $groups a cell counts distinct near-duplicate groups (unit_key; a concern without a group is its own)
-- and sums their group keys; else it counts reports and sums their record keys. One scan: the groups of a cell
-- first (one row per cell when counting reports), then the cells.
-- Parameters: $cell DOUBLE (metres), $groups BOOLEAN, and the filter (see koban_selected in macros.sql):
--   $themes VARCHAR[] (NULL = all but sensitive), $since, $until, $areas.
WITH units AS (
    SELECT
        floor(place_x / $cell)::BIGINT AS ix,
        floor(place_y / $cell)::BIGINT AS iy,
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
    (CASE WHEN $groups THEN count(*) ELSE sum(reports) END)::BIGINT AS n,
    ((CASE WHEN $groups THEN sum(group_key) ELSE sum(record_keys) END) % 256)::INTEGER AS ckey
FROM units
GROUP BY ix, iy;
