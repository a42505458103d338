-- ts_sample_misses: how many of the first 1,000 non-empty reported_at values of _staged form $fmt cannot
-- parse (0: the file uses that form). Parameters: $fmt VARCHAR.
SELECT count(*) FILTER (WHERE try_strptime(v, $fmt) IS NULL) AS misses, count(*) AS sampled
FROM (
    SELECT trim(reported_at_raw) AS v FROM _staged WHERE nullif(trim(reported_at_raw), '') IS NOT NULL LIMIT 1000
);
