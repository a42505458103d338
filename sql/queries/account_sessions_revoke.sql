-- account_sessions_revoke: revoke every live session of one account (disabled, or password changed).
-- Parameters: $username VARCHAR, $now TIMESTAMP (UTC).
UPDATE sessions
SET revoked_at = $now
WHERE username = $username AND revoked_at IS NULL AND expires_at > $now
RETURNING token_hash;
