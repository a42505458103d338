-- vote_tally_pending: phones whose ballot is new or changed since the public tally was taken ($seen: the
-- 'device:revision' of every ballot it holds), and the 'device:revision' of every ballot now.
-- Parameters: $meeting_id INTEGER, $seen VARCHAR[].
SELECT
    count(*) FILTER (WHERE NOT list_contains(CAST($seen AS VARCHAR[]), device_sha256 || ':' || revision))::INTEGER,
    coalesce(list(device_sha256 || ':' || revision ORDER BY device_sha256), []::VARCHAR[]),
    count(*)::INTEGER
FROM ballots
WHERE meeting_id = $meeting_id;
