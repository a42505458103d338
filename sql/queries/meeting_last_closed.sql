-- meeting_last_closed: the id of the latest closed meeting sharing an area with $areas, held on or before
-- $until_date (no row when there is none).
-- Parameters: $areas VARCHAR[], $until_date DATE.
SELECT id
FROM meetings
WHERE site = $site AND status = 'closed'
  AND list_has_any(areas, $areas::VARCHAR[])
  AND meeting_date <= $until_date::DATE
ORDER BY meeting_date DESC, closed_at DESC, id DESC
LIMIT 1;
