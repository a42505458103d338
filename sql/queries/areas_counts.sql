-- areas_counts: concerns per area polygon for one filter: every area (zero where it has none), or only the
-- filter's areas, with the polygon as WKB, and the area's themes with their counts, commonest first (ties by
-- theme code), for its top themes; each count with its cell key (koban_geo.privacy.cellkey: the sum of the
-- records' keys mod 256). One scan of the concerns: the area totals and the (area, theme) counts are two
-- grouping sets of the same GROUP BY (per near-duplicate group first, then per area). A concern counts in the
-- area whose code it carries (given at ingest from its snapped point, sql/queries/areas_assign.sql), as the
-- filter's $areas select them.
-- With $groups an area counts distinct near-duplicate groups (a concern without one is its own) and sums their
-- group keys; else it counts reports and sums their record keys.
-- Parameters: $groups BOOLEAN and the filter (see koban_selected in macros.sql): $themes VARCHAR[]
--   (NULL = every non-sensitive theme), $since TIMESTAMP, $until TIMESTAMP, $areas VARCHAR[] (NULL = all).
WITH units AS (
    SELECT
        area_code,
        theme,
        grouping(theme) AS whole,
        count(*) AS reports,
        sum(record_key) AS record_keys,
        any_value(group_key) AS group_key
    FROM concerns
    WHERE site = $site AND area_code IS NOT NULL
      AND koban_selected(theme, reported_at, area_code, CAST($themes AS VARCHAR[]), CAST($since AS TIMESTAMP),
                         CAST($until AS TIMESTAMP), CAST($areas AS VARCHAR[]))
    GROUP BY GROUPING SETS ((area_code, theme, CASE WHEN $groups THEN unit_key END),
                            (area_code, CASE WHEN $groups THEN unit_key END))
),
counted AS (
    SELECT
        area_code,
        theme,
        whole,
        CASE WHEN $groups THEN count(*) ELSE sum(reports) END AS n,
        (CASE WHEN $groups THEN sum(group_key) ELSE sum(record_keys) END) % 256 AS ckey
    FROM units
    GROUP BY area_code, theme, whole
),
per_area AS (
    SELECT
        area_code,
        max(n) FILTER (WHERE whole = 1) AS n,
        max(ckey) FILTER (WHERE whole = 1) AS ckey,
        list(theme ORDER BY n DESC, theme) FILTER (WHERE whole = 0) AS themes,
        list(n::BIGINT ORDER BY n DESC, theme) FILTER (WHERE whole = 0) AS theme_counts,
        list(ckey::INTEGER ORDER BY n DESC, theme) FILTER (WHERE whole = 0) AS theme_ckeys
    FROM counted
    GROUP BY area_code
)
SELECT a.code AS area_code, a.name, ST_AsWKB(a.geom) AS wkb, coalesce(p.n, 0)::BIGINT AS count,
       coalesce(p.ckey, 0)::INTEGER AS ckey,
       coalesce(p.themes, []::VARCHAR[]) AS themes, coalesce(p.theme_counts, []::BIGINT[]) AS theme_counts,
       coalesce(p.theme_ckeys, []::INTEGER[]) AS theme_ckeys
FROM areas AS a
LEFT JOIN per_area AS p ON p.area_code = a.code
WHERE a.site = $site
  AND (CAST($areas AS VARCHAR[]) IS NULL OR list_contains(CAST($areas AS VARCHAR[]), a.code))
ORDER BY a.code;
