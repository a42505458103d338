-- account_sessions_purge: forget sessions that ended (expired or revoked) before $before.
-- Parameters: $before TIMESTAMP (UTC).
DELETE FROM sessions
WHERE expires_at <= $before OR revoked_at <= $before
RETURNING token_hash;
