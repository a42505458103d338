-- purge_archive: store the aggregates of the concerns about to be purged in concern_archive (no text, no ids).
-- A group is counted once per month, in the row (theme, area, place) of its first report of that month;
-- ties on the time go to the smallest area code, then theme, so the result does not depend on row order.
-- Parameters: $concerns_before TIMESTAMP, $purge_id INTEGER.
INSERT INTO concern_archive (month, theme, area_code, place, snap_m, reports, groups, purge_id, site)
WITH purged AS (
    SELECT
        date_trunc('month', reported_at)::DATE AS month,
        theme,
        area_code,
        geom,
        snap_m,
        row_number() OVER (
            PARTITION BY date_trunc('month', reported_at), coalesce(group_id, source || '/' || id)
            ORDER BY reported_at, area_code NULLS LAST, theme, snap_m, source, id
        ) = 1 AS leads
    FROM concerns
    WHERE site = $site AND reported_at < $concerns_before
)
SELECT month, theme, area_code, geom, snap_m, count(*), count(*) FILTER (WHERE leads), $purge_id, $site
FROM purged
GROUP BY month, theme, area_code, geom, snap_m;
