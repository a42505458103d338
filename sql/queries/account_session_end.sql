-- account_session_end: revoke one session (logout); returns its username if it was live.
-- Parameters: $token_hash VARCHAR (64 hex), $now TIMESTAMP (UTC).
UPDATE sessions
SET revoked_at = $now
WHERE token_hash = $token_hash AND revoked_at IS NULL
RETURNING username;
