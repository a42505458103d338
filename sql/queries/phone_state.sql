-- phone_state: what the phone page shows a device: whether the meeting needs ballot slips, and the device's
-- current ballot (NULL columns when it has not voted). Always one row.
-- Parameters: $meeting_id INTEGER, $device_sha256 VARCHAR.
SELECT coalesce((SELECT slips_required FROM meeting_phone_rules WHERE meeting_id = $meeting_id), false),
       b.role, b.keys, b.points, b.revision, b.cast_at
FROM (SELECT 1) AS one
LEFT JOIN ballots b ON b.meeting_id = $meeting_id AND b.device_sha256 = $device_sha256;
