-- problem_ring: the ring of $buffer_m metres around a place (the buffer minus the place), as WKB in EPSG:4326.
-- The buffer is drawn in the store's metric CRS.
-- Parameters: $wkb BLOB (the place, EPSG:4326), $crs VARCHAR (metric CRS), $buffer_m DOUBLE.
WITH place AS (
    SELECT ST_Transform(ST_GeomFromWKB($wkb), 'EPSG:4326', $crs, always_xy := true) AS m
)
SELECT ST_AsWKB(ST_Transform(ST_Difference(ST_Buffer(m, $buffer_m), m), $crs, 'EPSG:4326', always_xy := true))
FROM place;
