-- grid_stored_get: the cells (ix, iy) of a stored study grid, in stored (ix, iy) order; no rows when none.
-- Parameters: $key VARCHAR (the grid key, koban_geo.analysis.grid.study_grid).
SELECT unnest(ix) AS ix, unnest(iy) AS iy
FROM (SELECT ix, iy FROM study_grids WHERE site = $site AND grid_key = $key ORDER BY made_at DESC LIMIT 1);
