-- grid_concerns_places_fingerprint: as grid_concerns_fingerprint but hashing the places too, for in-memory
-- stores (which have no file to tell them apart). No parameters.
SELECT count(*) AS n, md5(concat_ws(':', count(*), max(batch_id), bit_xor(hash(source, id, geom)))) AS fingerprint
FROM concerns
WHERE site = $site;
