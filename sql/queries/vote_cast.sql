-- vote_cast: store a device's ballot, replacing the one it cast before (never adding to it), if and only if
-- the meeting is open at this moment; returns the revision (1 = first ballot of this device) and cast_at,
-- or no row when the meeting is not open (closed since the ballot was checked).
-- Parameters: $meeting_id INTEGER, $device_sha256 VARCHAR, $role VARCHAR, $keys VARCHAR[], $points INTEGER[],
--   $now TIMESTAMP (naive UTC; kept to the minute).
INSERT INTO ballots (meeting_id, device_sha256, role, keys, points, revision, cast_at)
SELECT id, $device_sha256, $role, $keys::VARCHAR[], $points::INTEGER[], 1, date_trunc('minute', $now::TIMESTAMP)
FROM meetings
WHERE id = $meeting_id AND status = 'open'
ON CONFLICT (meeting_id, device_sha256) DO UPDATE
SET role = excluded.role, keys = excluded.keys, points = excluded.points,
    revision = ballots.revision + 1, cast_at = excluded.cast_at
RETURNING revision, cast_at;
