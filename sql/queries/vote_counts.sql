-- vote_counts: a meeting's facilitator counts in the order they were added.
-- Parameters: $meeting_id INTEGER.
SELECT id, role, source, keys, points, note, added_by, added_at
FROM meeting_counts
WHERE meeting_id = $meeting_id
ORDER BY id;
