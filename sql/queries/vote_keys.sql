-- vote_keys: a meeting's candidate keys in display order.
-- Parameters: $meeting_id INTEGER.
SELECT key FROM meeting_candidates WHERE meeting_id = $meeting_id ORDER BY position;
