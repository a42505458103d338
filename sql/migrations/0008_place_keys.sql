-- 0008_place_keys: what the counting queries group by, stored once per concern instead of worked out on every
-- filter change (bench/results/hotspots.md: a filter change on 1,000,000 concerns spent most of its time
-- transforming snapped points and hashing group strings).
-- place_x, place_y: the snapped point (geom) in the store's metric CRS (meta 'metric_crs'), metres; a square
--   cell of any size is floor(place_x / size), floor(place_y / size). The same values as transforming geom,
--   so counts are unchanged. Never the reported point: geom is already the snapped one.
-- unit_key: hash of the near-duplicate group (coalesce(group_id, source || '/' || id)), what "groups" counts
--   count distinct (64-bit: a collision between two groups at one place is not a practical concern).
-- Set by sql/queries/concerns_insert.sql; filled here for stores made before.
ALTER TABLE concerns ADD COLUMN place_x DOUBLE;
ALTER TABLE concerns ADD COLUMN place_y DOUBLE;
ALTER TABLE concerns ADD COLUMN unit_key UBIGINT;
UPDATE concerns
SET place_x = ST_X(t.m), place_y = ST_Y(t.m), unit_key = hash(coalesce(concerns.group_id, concerns.source || '/' || concerns.id))
FROM (
    SELECT source, id,
           ST_Transform(geom, 'EPSG:4326', (SELECT value FROM meta WHERE key = 'metric_crs'), always_xy := true) AS m
    FROM concerns
) AS t
WHERE t.source = concerns.source AND t.id = concerns.id;
