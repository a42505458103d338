-- vote_count_insert: a facilitator's paper or show-of-hands count for one group; returns its id.
-- Parameters: $meeting_id INTEGER, $role VARCHAR, $source VARCHAR, $keys VARCHAR[], $points INTEGER[],
--   $note VARCHAR, $actor VARCHAR, $now TIMESTAMP (naive UTC).
INSERT INTO meeting_counts (meeting_id, role, source, keys, points, note, added_by, added_at)
VALUES ($meeting_id, $role, $source, $keys::VARCHAR[], $points::INTEGER[], $note, $actor, $now::TIMESTAMP)
RETURNING id;
