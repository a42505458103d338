-- vote_cast: store a device's ballot, replacing the one it cast before (never adding to it), if and only if
-- the meeting is open at this moment; returns the revision (1 = first ballot of this device), cast_at and role,
-- or no row when the meeting is not open (closed since the ballot was checked).
-- Parameters: $meeting_id INTEGER, $device_sha256 VARCHAR, $role VARCHAR (NULL: the group of the device's
--   earlier ballot, else resident), $keys VARCHAR[], $points INTEGER[], $now TIMESTAMP (naive UTC; to the minute).
INSERT INTO ballots (meeting_id, device_sha256, role, keys, points, revision, cast_at)
SELECT id, $device_sha256, coalesce($role::VARCHAR, 'resident'), $keys::VARCHAR[], $points::INTEGER[], 1, date_trunc('minute', $now::TIMESTAMP)
FROM meetings
WHERE id = $meeting_id AND status = 'open'
ON CONFLICT (meeting_id, device_sha256) DO UPDATE
SET role = CASE WHEN $role::VARCHAR IS NULL THEN ballots.role ELSE excluded.role END, keys = excluded.keys, points = excluded.points,
    revision = ballots.revision + 1, cast_at = excluded.cast_at
RETURNING revision, cast_at, role;
