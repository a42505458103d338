-- near_repeat_events: the selected concerns as events for the Knox test: the centre of the snapping square
-- in the store's metric CRS (place_x, place_y, migration 0008, put back on the exact centre so that distances
-- between squares are exact: 0, 100, 141.4... m), the whole hour since 1970 and the snapping grid (0 for an
-- anonymous point, kept as stored), and its key for the cell key method (koban_geo.privacy.cellkey: the
-- report's record_key, or with $groups its group's group_key). With $groups one event per near-duplicate
-- group: its first report.
-- Parameters: $groups BOOLEAN and the filter (see koban_selected in macros.sql): $themes VARCHAR[]
--   (NULL = all but sensitive), $since TIMESTAMP, $until TIMESTAMP, $areas VARCHAR[].
WITH selected AS (
    SELECT
        CASE WHEN $groups THEN unit_key ELSE hash(source || '/' || id) END AS unit,
        CASE WHEN snap_m > 0 THEN (floor(place_x / snap_m) + 0.5) * snap_m ELSE place_x END AS x,
        CASE WHEN snap_m > 0 THEN (floor(place_y / snap_m) + 0.5) * snap_m ELSE place_y END AS y,
        snap_m,
        CASE WHEN $groups THEN group_key ELSE record_key END AS record_key,
        reported_at
    FROM concerns
    WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
)
SELECT
    arg_min(x, reported_at) AS x,
    arg_min(y, reported_at) AS y,
    (epoch(min(reported_at)) // 3600)::BIGINT AS hour,
    max(snap_m)::BIGINT AS snap_m,
    any_value(record_key)::INTEGER AS record_key
FROM selected
GROUP BY unit
ORDER BY hour, x, y;
