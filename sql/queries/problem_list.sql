-- problem_list: the problem cards, newest first, optionally of some statuses only.
-- Parameters: $statuses VARCHAR[] or NULL (every status).
SELECT id, title, status, origin, themes, area_code, response_start, created_at, updated_at
FROM problems
WHERE site = $site
  AND (CAST($statuses AS VARCHAR[]) IS NULL OR list_contains(CAST($statuses AS VARCHAR[]), status))
ORDER BY id DESC;
