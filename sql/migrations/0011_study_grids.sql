-- 0011_study_grids: the cells of a square study grid, kept so that Gi* on a stored grid needs neither the
-- union of the area polygons nor the spatial extension (koban_geo.analysis.grid.study_grid).
-- grid_key: kind:size:metric CRS:study-area fingerprint (the in-process cache key).
-- fingerprint: the study area's fingerprint alone ('areas:' + grid_areas_fingerprint). A row is read only
--   under its exact key, so a grid of areas that changed since is never used; writing a grid deletes every
--   row of another fingerprint.
-- ix, iy: the cells' column and row indices, floor(x / size) and floor(y / size) in the metric CRS, in
--   (ix, iy) order. Only grids of loaded areas are kept (a hull grid changes with every ingest).
CREATE TABLE study_grids (
    grid_key    VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    ix          BIGINT[] NOT NULL,
    iy          BIGINT[] NOT NULL,
    made_at     TIMESTAMP NOT NULL
);
