-- backtest_concerns: one point per concern in the months, or per near-duplicate group (at its first report
-- in the whole store, so a group that spans two months is not counted again in the second).
-- Parameters: $months VARCHAR[] ('YYYY-MM'), $sensitive BOOLEAN (keep sensitive themes), $groups BOOLEAN.
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY group_id ORDER BY reported_at, source, id) AS nth FROM concerns
    WHERE site = $site
)
SELECT ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat,
       (year(c.reported_at) - 1970) * 12 + month(c.reported_at) - 1 AS month, c.theme AS kind
FROM ranked AS c JOIN themes AS t ON t.code = c.theme
WHERE list_contains($months, strftime(c.reported_at, '%Y-%m')) AND ($sensitive OR NOT t.sensitive)
  AND (NOT $groups OR c.group_id IS NULL OR c.nth = 1)
ORDER BY c.reported_at, c.source, c.id;
