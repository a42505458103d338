-- stats_store: upsert accepted rows of _stats_new (a later value for the same key replaces the earlier).
-- Parameters: $batch_id INTEGER.
INSERT OR REPLACE INTO area_stats (area_code, period, indicator, value, batch_id, site)
SELECT area_code, period, indicator, value, $batch_id, $site
FROM _stats_new
WHERE error IS NULL
QUALIFY row_number() OVER (PARTITION BY area_code, period, indicator ORDER BY line DESC) = 1;
