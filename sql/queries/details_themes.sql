-- details_themes: concerns of one place per theme over the whole window. With $groups, distinct
-- near-duplicate groups: a group that spans two months counts once here (and once in each month in
-- details_counts). Same place and filter parameters as details_counts.
SELECT
    theme,
    CASE WHEN $groups THEN count(DISTINCT unit_key) ELSE count(*) END AS count
FROM concerns
WHERE koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
  AND (CAST($area AS VARCHAR) IS NULL OR area_code = $area)
  AND (CAST($wkt AS VARCHAR) IS NULL OR ST_Intersects(geom, ST_GeomFromText($wkt)))
GROUP BY theme
ORDER BY theme;
