-- purge_preview: the concerns a purge would delete, per calendar month and theme (oldest first).
-- Parameters: $concerns_before TIMESTAMP (a first of a month; concerns reported before it are purged).
SELECT strftime(date_trunc('month', reported_at), '%Y-%m') AS month, theme, count(*) AS n
FROM concerns
WHERE site = $site AND reported_at < $concerns_before
GROUP BY ALL
ORDER BY month, theme;
