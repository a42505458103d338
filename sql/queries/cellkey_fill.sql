-- cellkey_fill: give concerns without record keys their keys (koban_geo.privacy.cellkey): the first byte of
-- SHA-256(salt || '/' || name), name = 'source/id' for the report, the group's name for its group.
-- No parameters: the salt is meta 'cell_key_salt' (koban_record_key in macros.sql).
UPDATE concerns
SET record_key = koban_record_key(source || '/' || id),
    group_key = koban_record_key(coalesce(group_id, source || '/' || id))
WHERE record_key IS NULL OR group_key IS NULL;
