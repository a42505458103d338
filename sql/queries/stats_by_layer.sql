-- stats_by_layer: features per open-data layer. No parameters.
SELECT layer, count(*) AS n FROM layers WHERE site = $site GROUP BY layer ORDER BY layer;
