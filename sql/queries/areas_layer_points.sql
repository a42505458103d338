-- areas_layer_points: the point features of one open-data layer (streetlights, licensed premises...) with a
-- short label: the feature's "name" property, else its "kind". Parameters: $layer VARCHAR.
SELECT
    round(ST_X(geom), 6) AS lon,
    round(ST_Y(geom), 6) AS lat,
    coalesce(properties->>'name', properties->>'kind', '') AS label
FROM layers
WHERE site = $site AND layer = $layer AND ST_GeometryType(geom) = 'POINT'
ORDER BY feature_id;
