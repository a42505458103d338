-- data_version: changes whenever what the analytics count changes (new batches, moderation, purges), not on
-- votes or logins; the dashboard keys its caches on it. No parameters.
SELECT concat_ws(':',
    (SELECT count(*) FROM concerns WHERE site = $site),
    (SELECT coalesce(max(id), 0) FROM ingest_batches WHERE site = $site),
    (SELECT coalesce(max(id), 0) FROM audit_log WHERE site = $site AND action IN ('redact', 'set_theme', 'purge'))
) AS version;
