-- risk_snap_sizes: the snapping grids (metres; 0 = an anonymous point) of the selected concerns and how many
-- concerns each holds, so that exposure is measured on the grid the concerns can sit on.
-- Parameters: the filter (see koban_selected in macros.sql): $themes VARCHAR[] (NULL = all but sensitive),
--   $since TIMESTAMP, $until TIMESTAMP, $areas VARCHAR[].
SELECT snap_m, count(*)::BIGINT AS n
FROM concerns
WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
GROUP BY snap_m
ORDER BY snap_m;
