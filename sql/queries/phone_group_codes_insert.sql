-- phone_group_codes_insert: a meeting's group code for one role, unless it has one already.
-- Parameters: $meeting_id INTEGER, $role VARCHAR, $code VARCHAR.
INSERT INTO meeting_group_codes (meeting_id, role, code) VALUES ($meeting_id, $role, $code)
ON CONFLICT (meeting_id, role) DO NOTHING;
