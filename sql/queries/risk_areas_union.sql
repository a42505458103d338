-- risk_areas_union: the union of some areas in the store's metric CRS, as WKB (NULL when none match), to keep
-- the study grid's cells inside the areas a filter names.
-- Parameters: $areas VARCHAR[] (area codes), $crs VARCHAR (the store's metric CRS, 'EPSG:NNNN').
SELECT ST_AsWKB(ST_Transform(ST_Union_Agg(geom), 'EPSG:4326', $crs, always_xy := true)) AS wkb
FROM areas
WHERE site = $site AND list_contains(CAST($areas AS VARCHAR[]), code);
