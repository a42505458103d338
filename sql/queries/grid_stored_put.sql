-- grid_stored_put: keep one study grid, replacing the same key and dropping grids of other study areas.
-- Parameters: $key VARCHAR, $fingerprint VARCHAR (the study area's, 'areas:...'), $ix BIGINT[], $iy BIGINT[].
DELETE FROM study_grids WHERE site = $site AND (grid_key = $key OR fingerprint <> $fingerprint);
INSERT INTO study_grids (grid_key, fingerprint, ix, iy, made_at, site)
VALUES ($key, $fingerprint, CAST($ix AS BIGINT[]), CAST($iy AS BIGINT[]), now(), $site);
