-- problem_set_status: move a card to another SARA status.
-- Parameters: $id INTEGER, $status VARCHAR.
UPDATE problems SET status = $status, updated_at = now() WHERE id = $id AND site = $site;
