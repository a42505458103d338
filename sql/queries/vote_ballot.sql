-- vote_ballot: one device's current ballot in a meeting (no row when it has not voted).
-- Parameters: $meeting_id INTEGER, $device_sha256 VARCHAR.
SELECT role, keys, points, revision, cast_at
FROM ballots
WHERE meeting_id = $meeting_id AND device_sha256 = $device_sha256;
