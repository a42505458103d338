-- account_session_insert: a new login session, keyed by the SHA-256 of its token (never the token).
-- Parameters: $token_hash VARCHAR (64 hex), $username VARCHAR, $now TIMESTAMP, $expires_at TIMESTAMP (UTC).
INSERT INTO sessions (token_hash, username, created_at, expires_at, revoked_at)
VALUES ($token_hash, $username, $now, $expires_at, NULL);
