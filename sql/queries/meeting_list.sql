-- meeting_list: meeting ids, newest meeting date first.
-- Parameters: $status VARCHAR (NULL = any), $areas VARCHAR[] (NULL = any; else meetings sharing an area).
SELECT id
FROM meetings
WHERE site = $site
  AND ($status::VARCHAR IS NULL OR status = $status::VARCHAR)
  AND ($areas::VARCHAR[] IS NULL OR list_has_any(areas, $areas::VARCHAR[]))
ORDER BY meeting_date DESC, id DESC;
