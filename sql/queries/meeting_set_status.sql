-- meeting_set_status: move a meeting from one state to another; returns the id when it moved (no row when
-- the meeting was not in $from_status, so a double click or a race changes nothing). Reopening (closed ->
-- open) keeps the first opened_at and clears closed_at.
-- Parameters: $meeting_id INTEGER, $from_status VARCHAR, $to_status VARCHAR ('open' or 'closed'),
--   $now TIMESTAMP (naive UTC).
UPDATE meetings
SET status = $to_status,
    opened_at = CASE WHEN $to_status = 'open' THEN coalesce(opened_at, $now::TIMESTAMP) ELSE opened_at END,
    closed_at = CASE WHEN $to_status = 'closed' THEN $now::TIMESTAMP ELSE NULL END
WHERE id = $meeting_id AND site = $site AND status = $from_status
RETURNING id;
