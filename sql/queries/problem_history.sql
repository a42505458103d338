-- problem_history: the audit log rows about one card, oldest first. Other modules write plain-text details,
-- so the JSON is read only where it is valid (a filter's order of evaluation is not guaranteed).
-- Parameters: $id INTEGER.
SELECT logged_at, actor, action, detail
FROM audit_log
WHERE site = $site AND action LIKE 'problem.%'
  AND TRY_CAST(CASE WHEN json_valid(detail) THEN json_extract(detail, '$.problem') END AS INTEGER) = $id
ORDER BY id;
