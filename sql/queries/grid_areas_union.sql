-- grid_areas_union: the study area as the union of all area polygons, as WKB in lon/lat and in the metric CRS.
-- Parameters: $crs VARCHAR (the store's metric CRS, 'EPSG:NNNN').
WITH u AS (SELECT ST_Union_Agg(geom) AS g FROM areas WHERE site = $site)
SELECT
    ST_AsWKB(g) AS wkb_lonlat,
    ST_AsWKB(ST_Transform(g, 'EPSG:4326', $crs, always_xy := true)) AS wkb_metric
FROM u;
