-- account_set_password: a new password hash (set by an admin or the user); clears failures and any lock-out.
-- Parameters: $username VARCHAR, $password_hash VARCHAR (argon2id PHC string), $now TIMESTAMP (UTC).
UPDATE accounts
SET password_hash = $password_hash, password_changed_at = $now, failed_logins = 0, locked_until = NULL
WHERE username = $username;
