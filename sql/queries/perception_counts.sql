-- perception_counts: per area and theme family (the 'sensitive' family left out), the concerns reported and
-- the crimes recorded in the window, the area's population (its latest 'population' figure in area_stats,
-- NULL when it has none) and its land area in km² (measured in $crs). One row per area x family, zeros
-- included. Concerns and crimes outside every area are not counted.
-- Concerns count when since <= reported_at < until; a police.uk month counts when it overlaps the window.
-- Parameters: $since TIMESTAMP, $until TIMESTAMP (NULL = open), $crs VARCHAR (metric CRS), $groups BOOLEAN
--   (count near-duplicate groups once instead of every report).
WITH families AS (
    SELECT DISTINCT family FROM themes WHERE NOT sensitive AND family <> 'sensitive'
),
family_of AS (
    SELECT code, family FROM themes WHERE NOT sensitive AND family <> 'sensitive'
),
concern_units AS (
    SELECT
        c.area_code,
        f.family,
        CASE WHEN $groups THEN hash(coalesce(c.group_id, c.source || '/' || c.id)) END AS unit,
        count(*) AS n
    FROM concerns AS c
    JOIN family_of AS f ON f.code = c.theme
    WHERE c.site = $site AND c.area_code IS NOT NULL
      AND ($since::TIMESTAMP IS NULL OR c.reported_at >= $since::TIMESTAMP)
      AND ($until::TIMESTAMP IS NULL OR c.reported_at < $until::TIMESTAMP)
    GROUP BY ALL
),
concern_counts AS (
    SELECT area_code, family, CASE WHEN $groups THEN count(*) ELSE sum(n) END AS n
    FROM concern_units
    GROUP BY area_code, family
),
crime_counts AS (
    SELECT k.area_code, f.family, count(*) AS n
    FROM crime AS k
    JOIN family_of AS f ON f.code = k.theme
    WHERE k.site = $site AND k.area_code IS NOT NULL
      AND ($since::TIMESTAMP IS NULL OR k.month + INTERVAL 1 MONTH > $since::TIMESTAMP)
      AND ($until::TIMESTAMP IS NULL OR k.month < $until::TIMESTAMP)
    GROUP BY ALL
),
population AS (
    SELECT area_code, arg_max(value, period) AS population
    FROM area_stats
    WHERE site = $site AND indicator = 'population' AND value > 0
    GROUP BY area_code
)
SELECT
    a.code AS area_code,
    a.name AS area_name,
    f.family,
    coalesce(cc.n, 0)::BIGINT AS concerns,
    coalesce(kc.n, 0)::BIGINT AS crime,
    p.population::DOUBLE AS population,
    ST_Area(ST_Transform(a.geom, 'EPSG:4326', $crs, always_xy := true)) / 1e6 AS area_km2
FROM areas AS a
CROSS JOIN families AS f
LEFT JOIN concern_counts AS cc ON cc.area_code = a.code AND cc.family = f.family
LEFT JOIN crime_counts AS kc ON kc.area_code = a.code AND kc.family = f.family
LEFT JOIN population AS p ON p.area_code = a.code
WHERE a.site = $site
ORDER BY a.code, f.family;
