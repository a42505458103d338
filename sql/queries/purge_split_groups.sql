-- purge_split_groups: near-duplicate groups among the purged concerns whose reports of one month lie in more
-- than one area (a snapped place on an area border). concern_archive counts such a group once, in the area of
-- its first report, where a live count filtered by area counted it in each area; purge_log records how many.
-- Parameters: $concerns_before TIMESTAMP.
SELECT count(*) FROM (
    SELECT date_trunc('month', reported_at) AS month, coalesce(group_id, source || '/' || id) AS grp
    FROM concerns
    WHERE site = $site AND reported_at < $concerns_before
    GROUP BY ALL
    HAVING count(DISTINCT coalesce(area_code, '')) > 1
);
