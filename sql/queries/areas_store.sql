-- areas_store: replace areas of the same code with the new batch's polygons.
-- Reads _areas_new. Parameters: $batch_id INTEGER.
DELETE FROM areas WHERE site = $site AND code IN (SELECT code FROM _areas_new);
INSERT INTO areas (code, name, geom, batch_id, site)
SELECT code, name, geom, $batch_id, $site FROM _areas_new ORDER BY line;
