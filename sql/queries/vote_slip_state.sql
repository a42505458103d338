-- vote_slip_state: whether a meeting needs ballot slips, and whether this phone has redeemed one already.
-- Parameters: $meeting_id INTEGER, $device_sha256 VARCHAR.
SELECT coalesce((SELECT slips_required FROM meeting_phone_rules WHERE meeting_id = $meeting_id), false),
       EXISTS (SELECT 1 FROM meeting_slips WHERE meeting_id = $meeting_id AND device_sha256 = $device_sha256);
