-- areas_bounds: the extent a map opens on: the areas', else the concerns' (min_lon, min_lat, max_lon, max_lat;
-- NULLs in an empty store). No parameters.
WITH a AS (
    SELECT min(ST_XMin(geom)) AS x0, min(ST_YMin(geom)) AS y0, max(ST_XMax(geom)) AS x1, max(ST_YMax(geom)) AS y1
    FROM areas
),
c AS (
    SELECT min(ST_X(geom)) AS x0, min(ST_Y(geom)) AS y0, max(ST_X(geom)) AS x1, max(ST_Y(geom)) AS y1
    FROM concerns
)
SELECT coalesce(a.x0, c.x0) AS min_lon, coalesce(a.y0, c.y0) AS min_lat,
       coalesce(a.x1, c.x1) AS max_lon, coalesce(a.y1, c.y1) AS max_lat
FROM a, c;
