-- layer_store: replace one open-data layer with the staged features (_staged_layer(line, feature_id,
-- properties, geojson)). Parameters: $layer VARCHAR, $batch_id INTEGER, $source_crs VARCHAR.
DELETE FROM layers WHERE site = $site AND layer = $layer;
INSERT INTO layers (layer, feature_id, properties, geom, batch_id, site)
SELECT
    $layer,
    feature_id,
    properties::JSON,
    CASE WHEN $source_crs = 'EPSG:4326' THEN ST_GeomFromGeoJSON(geojson)
         ELSE ST_Transform(ST_GeomFromGeoJSON(geojson), $source_crs, 'EPSG:4326', always_xy := true) END,
    $batch_id,
    $site
FROM _staged_layer
WHERE geojson IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY feature_id ORDER BY line) = 1;
