-- purge_batches: add the concerns about to be purged to their batch's rows_purged (before they are deleted),
-- so that count(concerns of a batch) = rows_accepted - rows_purged stays true. Parameters: $concerns_before.
UPDATE ingest_batches AS b
SET rows_purged = coalesce(b.rows_purged, 0) + p.n
FROM (
    SELECT batch_id, count(*)::INTEGER AS n FROM concerns WHERE site = $site AND reported_at < $concerns_before GROUP BY batch_id
) AS p
WHERE b.id = p.batch_id;
