-- areas_theme_counts: concerns per (area, theme) for one filter, only pairs that have some; the same counting
-- as areas_counts (a group never spans themes, so an area's themes add up to its count).
-- Parameters: $groups BOOLEAN, $themes VARCHAR[], $since TIMESTAMP, $until TIMESTAMP, $areas VARCHAR[].
SELECT
    area_code,
    theme,
    (CASE WHEN $groups THEN count(DISTINCT coalesce(group_id, source || '/' || id)) ELSE count(*) END)::BIGINT
        AS count
FROM concerns
WHERE area_code IS NOT NULL
  AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
GROUP BY area_code, theme
ORDER BY area_code, count DESC, theme;
