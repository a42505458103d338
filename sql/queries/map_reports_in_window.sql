-- map_reports_in_window: how many concerns a map's filter selects, and when the store's last concern was
-- reported (whatever the filter says): an empty map says "no reports in this period; the latest is from ...".
-- Called by koban_geo/outputs/maplayers.py. Parameters: the filter (see koban_selected in macros.sql):
--   $themes VARCHAR[] (NULL = every non-sensitive theme), $since TIMESTAMP, $until TIMESTAMP,
--   $areas VARCHAR[] (NULL = all).
SELECT
    count(*) FILTER (
        WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                             CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    ) AS selected,
    max(reported_at) AS last_reported
FROM concerns
WHERE site = $site;
