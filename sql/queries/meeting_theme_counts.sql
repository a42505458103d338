-- meeting_theme_counts: concerns per theme in some areas and a time window, sensitive themes left out
-- (koban_selected with themes NULL). With $groups a near-duplicate group counts once.
-- Parameters: $areas VARCHAR[], $since TIMESTAMP, $until TIMESTAMP (NULL = open), $groups BOOLEAN.
SELECT
    theme,
    (CASE WHEN $groups THEN count(DISTINCT unit_key) ELSE count(*) END)::BIGINT
        AS count
FROM concerns
WHERE koban_selected(theme, reported_at, area_code, CAST(NULL AS VARCHAR[]), CAST($since AS TIMESTAMP),
                     CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
GROUP BY theme
ORDER BY count DESC, theme;
