-- account_session_user: the account behind a live session (not expired, not revoked, account active).
-- Parameters: $token_hash VARCHAR (64 hex), $now TIMESTAMP (UTC).
SELECT a.username, a.role, a.email, a.active, a.created_at, a.disabled_at, a.failed_logins, a.locked_until,
       a.last_login_at, a.password_changed_at
FROM sessions AS s
JOIN accounts AS a ON a.username = s.username
WHERE s.token_hash = $token_hash
  AND s.revoked_at IS NULL
  AND s.expires_at > $now
  AND a.active;
