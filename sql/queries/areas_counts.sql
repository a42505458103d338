-- areas_counts: concerns per area polygon for one filter: every area (zero where it has none), or only the
-- filter's areas, with the polygon as WKB, and the area's themes with their counts, commonest first (ties by
-- theme code), for its top themes. One scan of the concerns: the area totals and the (area, theme) counts are
-- two grouping sets of the same GROUP BY. A concern counts in the area whose code it carries (given at ingest
-- from its snapped point, sql/queries/areas_assign.sql), as the filter's $areas select them.
-- With $groups an area counts distinct near-duplicate groups (a concern without one is its own).
-- Parameters: $groups BOOLEAN and the filter (see koban_selected in macros.sql): $themes VARCHAR[]
--   (NULL = every non-sensitive theme), $since TIMESTAMP, $until TIMESTAMP, $areas VARCHAR[] (NULL = all).
WITH counted AS (
    SELECT
        area_code,
        theme,
        grouping(theme) AS whole,
        CASE WHEN $groups THEN count(DISTINCT unit_key) ELSE count(*) END AS n
    FROM concerns
    WHERE area_code IS NOT NULL
      AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY GROUPING SETS ((area_code, theme), (area_code))
),
per_area AS (
    SELECT
        area_code,
        max(n) FILTER (WHERE whole = 1) AS n,
        list(theme ORDER BY n DESC, theme) FILTER (WHERE whole = 0) AS themes,
        list(n::BIGINT ORDER BY n DESC, theme) FILTER (WHERE whole = 0) AS theme_counts
    FROM counted
    GROUP BY area_code
)
SELECT a.code AS area_code, a.name, ST_AsWKB(a.geom) AS wkb, coalesce(p.n, 0)::BIGINT AS count,
       coalesce(p.themes, []::VARCHAR[]) AS themes, coalesce(p.theme_counts, []::BIGINT[]) AS theme_counts
FROM areas AS a
LEFT JOIN per_area AS p ON p.area_code = a.code
WHERE CAST($areas AS VARCHAR[]) IS NULL OR list_contains(CAST($areas AS VARCHAR[]), a.code)
ORDER BY a.code;
