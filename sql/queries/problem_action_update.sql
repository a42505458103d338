-- problem_action_update: change an action; NULL keeps a field as it is.
-- Parameters: $id INTEGER, $description VARCHAR, $owner_org VARCHAR, $due DATE, $status VARCHAR.
UPDATE problem_actions
SET description = coalesce($description, description), owner_org = coalesce($owner_org, owner_org),
    due = coalesce(CAST($due AS DATE), due), status = coalesce($status, status), updated_at = now()
WHERE id = $id;
