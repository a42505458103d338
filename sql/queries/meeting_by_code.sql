-- meeting_by_code: the id of the meeting a join code names: the one not closed (codes are unique among
-- those), else the most recently closed one that had it, so a late phone is told voting has closed.
-- Parameters: $site VARCHAR, $code VARCHAR (already normalised: upper case, no separators).
SELECT id
FROM meetings
WHERE site = $site AND code = $code
ORDER BY status = 'closed', closed_at DESC NULLS LAST, id DESC
LIMIT 1;
