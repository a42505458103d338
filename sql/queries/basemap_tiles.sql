-- basemap_tiles: one layer of the vector tiles of one zoom level, one row per tile, from bm_features
-- (basemap_features). Each feature goes to every tile its box touches (plus the buffer), is clipped and
-- quantised there by ST_AsMVTGeom, and each tile's layer is encoded by ST_AsMVT (Mapbox Vector Tile 2.1).
-- Parameters: $layer VARCHAR (the layer, a constant for ST_AsMVT), $z INTEGER (zoom), $extent INTEGER (tile units, 4096), $buffer INTEGER (tile units drawn
-- beyond the edge, so lines and labels join across tiles), $min_area DOUBLE (polygons smaller than this,
-- in EPSG:3857 m², are left out at this zoom: a pixel or two), $simplify DOUBLE (tolerance in EPSG:3857 m,
-- about half a screen pixel: fewer vertices, and straight runs of street long enough for protomaps-leaflet to
-- lay a name along, which the grid snapping of many tiny segments would otherwise bend).
-- Returns x, y, mvt (BLOB: a tile holding this one layer), ordered by x and y.
WITH params AS (
    SELECT 20037508.342789244 AS half, 2 * 20037508.342789244 / (1 << $z) AS size,
           $buffer / $extent::DOUBLE AS pad, (1 << $z) - 1 AS last
), features AS (
    SELECT f.* REPLACE (CASE WHEN ST_Dimension(f.geom) > 0 THEN ST_SimplifyPreserveTopology(f.geom, $simplify)
                             ELSE f.geom END AS geom),
           ST_Extent(f.geom) AS box
    FROM bm_features AS f
    WHERE f.layer = $layer AND f.min_zoom <= $z AND (f.area IS NULL OR f.area >= $min_area)
), spans AS (
    SELECT features.*,
           greatest(0, floor((ST_XMin(box) + half) / size - pad))::INTEGER AS x0,
           least(last, floor((ST_XMax(box) + half) / size + pad))::INTEGER AS x1,
           greatest(0, floor((half - ST_YMax(box)) / size - pad))::INTEGER AS y0,
           least(last, floor((half - ST_YMin(box)) / size + pad))::INTEGER AS y1
    FROM features, params
), by_x AS (
    SELECT spans.*, unnest(range(x0, x1 + 1))::INTEGER AS x FROM spans
), by_tile AS (
    SELECT by_x.*, unnest(range(y0, y1 + 1))::INTEGER AS y FROM by_x
), clipped AS (
    SELECT x, y, sort_rank, osm_id, kind, kind_detail, name, min_zoom, is_tunnel, is_bridge,
           ST_AsMVTGeom(geom, ST_Extent(ST_TileEnvelope($z, x, y)), $extent, $buffer, true) AS g
    FROM by_tile
)
SELECT x, y,
       ST_AsMVT({'geom': g, 'kind': kind, 'kind_detail': kind_detail, 'name': name, 'min_zoom': min_zoom,
                 'is_tunnel': is_tunnel, 'is_bridge': is_bridge},
                $layer, $extent, 'geom'
                ORDER BY sort_rank, min_zoom, kind, name, osm_id, ST_AsWKB(g)) AS mvt
FROM clipped
WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)
GROUP BY x, y
ORDER BY x, y;
