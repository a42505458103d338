-- grid_concerns_fingerprint: a fingerprint of the concerns of a store without areas, whose study area is the
-- convex hull of the concern places: the store file, the count, the last batch and an order-independent XOR
-- of the (source, id) hashes. Places are fixed at ingest, so within one store file identities stand for
-- them (reading the geometry column would cost as much as a count). No parameters.
SELECT
    count(*) AS n,
    md5(concat_ws(':',
        (SELECT path FROM duckdb_databases() WHERE database_name = current_database()),
        count(*), max(batch_id), bit_xor(hash(source, id)))) AS fingerprint,
    (SELECT path FROM duckdb_databases() WHERE database_name = current_database()) IS NULL AS in_memory
FROM concerns
WHERE site = $site;
