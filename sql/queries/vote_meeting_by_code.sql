-- vote_meeting_by_code: what a ballot is checked against, for the meeting a join code names (the one not
-- closed, else the most recently closed one, as meeting_by_code): id, state and rules.
-- Parameters: $code VARCHAR (already normalised: upper case, no separators).
SELECT id, status, method, budget, max_per_item, site
FROM meetings
WHERE code = $code
ORDER BY status = 'closed', closed_at DESC NULLS LAST, id DESC
LIMIT 1;
