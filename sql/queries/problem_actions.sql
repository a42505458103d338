-- problem_actions: the actions of some cards, in the order they were added.
-- Parameters: $ids INTEGER[].
SELECT id, problem_id, description, owner_org, due, status, created_at, updated_at
FROM problem_actions
WHERE list_contains(CAST($ids AS INTEGER[]), problem_id)
ORDER BY problem_id, id;
