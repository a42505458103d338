-- areas_layer_names: the open-data layers in the store, with their feature counts and whether they hold
-- points. No parameters.
SELECT layer, count(*)::BIGINT AS n, bool_and(ST_GeometryType(geom) = 'POINT') AS points
FROM layers
WHERE site = $site
GROUP BY layer
ORDER BY layer;
