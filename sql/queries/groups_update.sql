-- groups_update: set group ids from _groups(source, id, group_id). No parameters.
UPDATE concerns AS c SET group_id = g.group_id
FROM _groups AS g
WHERE c.source = g.source AND c.id = g.id;
