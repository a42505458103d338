-- phone_slips_insert: new unused ballot slips (hashes only).
-- Parameters: $meeting_id INTEGER, $hashes VARCHAR[], $now TIMESTAMP (naive UTC; kept to the minute).
INSERT INTO meeting_slips (meeting_id, slip_sha256, device_sha256, issued_at, redeemed_at)
SELECT $meeting_id, h, NULL, date_trunc('minute', $now::TIMESTAMP), NULL
FROM unnest($hashes::VARCHAR[]) AS t(h);
