-- meeting_get: one meeting by id (no row when there is none).
-- Parameters: $meeting_id INTEGER, $site VARCHAR (a meeting of another site is not found).
SELECT id, code, title, meeting_date, areas, method, budget, max_per_item,
       weight_resident, weight_officer, weight_partner, status, created_by, created_at, opened_at, closed_at,
       site
FROM meetings
WHERE id = $meeting_id AND site = $site;
