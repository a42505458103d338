-- meeting_insert: a new meeting in the draft state; returns its id.
-- Parameters: $code VARCHAR, $title VARCHAR, $meeting_date DATE, $areas VARCHAR[], $method VARCHAR,
--   $budget INTEGER, $max_per_item INTEGER (NULL for ranking), $actor VARCHAR, $now TIMESTAMP (naive UTC).
INSERT INTO meetings (code, title, meeting_date, areas, method, budget, max_per_item, created_by, created_at, site)
VALUES ($code, $title, $meeting_date::DATE, $areas::VARCHAR[], $method, $budget::INTEGER, $max_per_item::INTEGER,
        $actor, $now::TIMESTAMP, $site)
RETURNING id;
