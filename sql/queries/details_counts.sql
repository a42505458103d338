-- details_counts: concerns of one place (an area code, or a polygon in WKT, EPSG:4326 lon/lat), in one scan as
-- two grouping sets: per month and theme (whole = 0), and per theme over the whole window (whole = 1). With
-- $groups, distinct near-duplicate groups are counted instead of reports: a group that spans two months
-- counts once in each month and once in the window's theme row.
-- Parameters: $area VARCHAR or NULL, $wkt VARCHAR or NULL (one of the two), $groups BOOLEAN, and the filter
--   (koban_selected in macros.sql): $themes VARCHAR[] (NULL = all but sensitive), $since, $until, $areas.
SELECT
    date_trunc('month', reported_at)::DATE AS month,
    theme,
    grouping(date_trunc('month', reported_at)::DATE) AS whole,
    CASE WHEN $groups THEN count(DISTINCT unit_key) ELSE count(*) END AS count
FROM concerns
WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
  AND (CAST($area AS VARCHAR) IS NULL OR area_code = $area)
  AND (CAST($wkt AS VARCHAR) IS NULL OR ST_Intersects(geom, ST_GeomFromText($wkt)))
GROUP BY GROUPING SETS ((date_trunc('month', reported_at)::DATE, theme), (theme))
ORDER BY whole, month, theme;
