-- areas_store: replace areas of the same code with the new batch's polygons.
-- Reads _areas_new. Parameters: $batch_id INTEGER.
DELETE FROM areas WHERE code IN (SELECT code FROM _areas_new);
INSERT INTO areas (code, name, geom, batch_id)
SELECT code, name, geom, $batch_id FROM _areas_new ORDER BY line;
