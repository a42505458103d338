-- vote_cast_many: store many phones' ballots in ONE statement (the ballot writer's group commit), each replacing
-- the one its phone cast before (never adding to it), if and only if its meeting is open at this moment. Returns
-- one row per ballot stored (meeting_id, device_sha256, revision (1 = first ballot of this device), cast_at, role);
-- a ballot of a meeting that is not open (closed since it was checked) is not stored and has no row.
-- A (meeting, device) appears at most once per call (the writer sends a phone's second ballot in the next call).
-- Parameters: $meeting_ids INTEGER[], $devices VARCHAR[], $roles VARCHAR[] (resident for a phone that gave no
--   group), $keys VARCHAR[][], $points INTEGER[][] (one entry per ballot, same order), $keep_role BOOLEAN (true:
--   a replaced ballot keeps the group of the earlier one), $now TIMESTAMP (naive UTC; to the minute).
INSERT INTO ballots (meeting_id, device_sha256, role, keys, points, revision, cast_at)
SELECT t.meeting_id, t.device, t.role, t.keys, t.points, 1, date_trunc('minute', $now::TIMESTAMP)
FROM (SELECT unnest($meeting_ids::INTEGER[]) AS meeting_id, unnest($devices::VARCHAR[]) AS device,
             unnest($roles::VARCHAR[]) AS role, unnest($keys::VARCHAR[][]) AS keys,
             unnest($points::INTEGER[][]) AS points) AS t
JOIN meetings m ON m.id = t.meeting_id AND m.status = 'open'
ON CONFLICT (meeting_id, device_sha256) DO UPDATE
SET role = CASE WHEN $keep_role::BOOLEAN THEN ballots.role ELSE excluded.role END, keys = excluded.keys,
    points = excluded.points, revision = ballots.revision + 1, cast_at = excluded.cast_at
RETURNING meeting_id, device_sha256, revision, cast_at, role;
