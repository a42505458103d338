-- problem_action_get: one action (with its card's id), or no row.
-- Parameters: $id INTEGER.
SELECT id, problem_id, description, owner_org, due, status FROM problem_actions WHERE id = $id;
