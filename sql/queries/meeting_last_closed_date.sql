-- meeting_last_closed_date: the date of the latest closed meeting, optionally only those sharing an area
-- with $areas (NULL when there is none).
-- Parameters: $areas VARCHAR[] (NULL = any area).
SELECT max(meeting_date)
FROM meetings
WHERE site = $site AND status = 'closed'
  AND ($areas::VARCHAR[] IS NULL OR list_has_any(areas, $areas::VARCHAR[]));
