-- phone_group_codes: the group codes of a meeting (role, code).
-- Parameters: $meeting_id INTEGER.
SELECT role, code FROM meeting_group_codes WHERE meeting_id = $meeting_id ORDER BY role;
