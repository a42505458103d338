-- vote_slip_redeem: bind an unused slip to the phone that presents it; no row when the slip is unknown or used.
-- Parameters: $meeting_id INTEGER, $slip_sha256 VARCHAR, $device_sha256 VARCHAR, $now TIMESTAMP (naive UTC).
UPDATE meeting_slips
SET device_sha256 = $device_sha256, redeemed_at = date_trunc('minute', $now::TIMESTAMP)
WHERE meeting_id = $meeting_id AND slip_sha256 = $slip_sha256 AND device_sha256 IS NULL
RETURNING 1;
