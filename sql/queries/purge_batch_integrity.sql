-- purge_batch_integrity: concerns batches whose stored rows differ from what they recorded (rows_accepted less
-- rows_purged by retention purges), and how many of those are rows whose batch has no record. Both 0 in a
-- healthy store: a batch is stored all or nothing (koban_geo.ingest) and purges keep the count (purge_batches).
-- No parameters: store-wide, every site's batches (batch ids are unique in the store). Needs migration 0006.
WITH stored AS (
    SELECT batch_id, count(*) AS n FROM concerns GROUP BY batch_id
),
expected AS (
    SELECT id, rows_accepted - coalesce(rows_purged, 0) AS n FROM ingest_batches WHERE kind = 'concerns'
)
SELECT
    count(*) FILTER (WHERE coalesce(s.n, 0) <> coalesce(e.n, 0)) AS bad,
    count(*) FILTER (WHERE e.id IS NULL) AS orphans
FROM stored AS s
FULL OUTER JOIN expected AS e ON s.batch_id = e.id;
