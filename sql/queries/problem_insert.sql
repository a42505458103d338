-- problem_insert: a new problem card in status 'scanning'; returns its id.
-- Parameters: $title VARCHAR (scrubbed), $origin VARCHAR, $origin_ref VARCHAR or NULL, $wkb BLOB (the place,
--   (Multi)Polygon in EPSG:4326), $themes VARCHAR[], $area_code VARCHAR or NULL, $actor VARCHAR.
INSERT INTO problems (title, origin, origin_ref, place, themes, area_code, created_at, created_by, updated_at, site)
VALUES ($title, $origin, $origin_ref, ST_GeomFromWKB($wkb), CAST($themes AS VARCHAR[]), $area_code, now(), $actor,
        now(), $site)
RETURNING id;
