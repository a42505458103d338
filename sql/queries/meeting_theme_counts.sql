-- meeting_theme_counts: concerns per theme in some areas and a time window, sensitive themes left out
-- (koban_selected with themes NULL), with each theme's cell key (koban_geo.privacy.cellkey). With $groups a
-- near-duplicate group counts once and adds its group key; else each report adds its record key.
-- Parameters: $areas VARCHAR[], $since TIMESTAMP, $until TIMESTAMP (NULL = open), $groups BOOLEAN.
WITH units AS (
    SELECT
        theme,
        CASE WHEN $groups THEN unit_key END AS unit,
        count(*) AS reports,
        sum(record_key) AS record_keys,
        any_value(group_key) AS group_key
    FROM concerns
    WHERE site = $site AND koban_selected(theme, reported_at, area_code, CAST(NULL AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY ALL
)
SELECT
    theme,
    (CASE WHEN $groups THEN count(*) ELSE sum(reports) END)::BIGINT AS count,
    ((CASE WHEN $groups THEN sum(group_key) ELSE sum(record_keys) END) % 256)::INTEGER AS ckey
FROM units
GROUP BY theme
ORDER BY count DESC, theme;
