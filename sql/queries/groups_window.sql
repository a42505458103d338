-- groups_window: the concerns that can share a group with batch $batch_id: same themes, within $days days
-- of the batch's reports. Ordered for the leader pass in koban_geo.grouping.
-- Parameters: $batch_id INTEGER, $days INTEGER.
WITH span AS (
    SELECT theme, min(reported_at) - to_days($days) AS lo, max(reported_at) + to_days($days) AS hi
    FROM concerns WHERE batch_id = $batch_id GROUP BY theme
)
SELECT c.source, c.id, c.theme, ST_AsWKB(c.geom) AS place, epoch(c.reported_at) AS t, c.group_id, c.batch_id = $batch_id AS new
FROM concerns AS c
JOIN span AS s ON s.theme = c.theme AND c.reported_at BETWEEN s.lo AND s.hi
ORDER BY c.theme, place, t, c.source, c.id;
