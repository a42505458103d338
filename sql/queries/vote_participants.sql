-- vote_participants: ballots (one per device) per group.
-- Parameters: $meeting_id INTEGER.
SELECT role, count(*)::BIGINT AS participants
FROM ballots
WHERE meeting_id = $meeting_id
GROUP BY role
ORDER BY role;
