-- groups_window: the rows that can share a near-duplicate group with the new rows of _resolved: those new
-- rows (line set) and the stored concerns of their themes within $days days (line NULL), ordered for the
-- leader pass in koban_geo.privacy.grouping. Parameters: $source VARCHAR, $days INTEGER.
WITH fresh AS (
    SELECT line, id, theme, geom, reported_at FROM _resolved WHERE NOT dup_in_file AND NOT dup_in_store
),
span AS (
    SELECT theme, min(reported_at) - to_days($days) AS lo, max(reported_at) + to_days($days) AS hi
    FROM fresh GROUP BY theme
)
SELECT c.source, c.id, c.theme, ST_AsWKB(c.geom) AS place, epoch(c.reported_at) AS t, c.group_id,
       NULL::BIGINT AS line
FROM concerns AS c
JOIN span AS s ON c.site = $site AND s.theme = c.theme AND c.reported_at BETWEEN s.lo AND s.hi
UNION ALL
SELECT $source, f.id, f.theme, ST_AsWKB(f.geom), epoch(f.reported_at), NULL, f.line
FROM fresh AS f
ORDER BY theme, place, t, source, id;
