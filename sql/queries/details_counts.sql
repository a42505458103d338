-- details_counts: concerns of one place (an area code, or a polygon in WKT, EPSG:4326 lon/lat), in one scan as
-- two grouping sets: per month and theme (whole = 0), and per theme over the whole window (whole = 1), each
-- with its cell key (koban_geo.privacy.cellkey). With $groups, distinct near-duplicate groups are counted
-- instead of reports: a group that spans two months counts once in each month and once in the window's theme
-- row (the groups of each set first, then the counts).
-- Parameters: $area VARCHAR or NULL, $wkt VARCHAR or NULL (one of the two), $groups BOOLEAN, and the filter
--   (koban_selected in macros.sql): $themes VARCHAR[] (NULL = all but sensitive), $since, $until, $areas.
WITH units AS (
    SELECT
        date_trunc('month', reported_at)::DATE AS month,
        theme,
        grouping(date_trunc('month', reported_at)::DATE) AS whole,
        count(*) AS reports,
        sum(record_key) AS record_keys,
        any_value(group_key) AS group_key
    FROM concerns
    WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
      AND (CAST($area AS VARCHAR) IS NULL OR area_code = $area)
      AND (CAST($wkt AS VARCHAR) IS NULL OR ST_Intersects(geom, ST_GeomFromText($wkt)))
    GROUP BY GROUPING SETS ((date_trunc('month', reported_at)::DATE, theme, CASE WHEN $groups THEN unit_key END),
                            (theme, CASE WHEN $groups THEN unit_key END))
)
SELECT
    month,
    theme,
    whole,
    CASE WHEN $groups THEN count(*) ELSE sum(reports) END AS count,
    ((CASE WHEN $groups THEN sum(group_key) ELSE sum(record_keys) END) % 256)::INTEGER AS ckey
FROM units
GROUP BY month, theme, whole
ORDER BY whole, month, theme;
