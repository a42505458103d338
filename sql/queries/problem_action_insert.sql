-- problem_action_insert: a new action of a card; returns its id.
-- Parameters: $problem_id INTEGER, $description VARCHAR (scrubbed), $owner_org VARCHAR, $due DATE or NULL,
--   $status VARCHAR.
INSERT INTO problem_actions (problem_id, description, owner_org, due, status, created_at, updated_at)
VALUES ($problem_id, $description, $owner_org, $due, $status, now(), now())
RETURNING id;
