-- account_login_ok: a successful login clears the failure count; the hash is replaced when it was rehashed.
-- Parameters: $username VARCHAR, $password_hash VARCHAR (the current or the rehashed one), $now TIMESTAMP.
UPDATE accounts
SET failed_logins = 0, locked_until = NULL, last_login_at = $now, password_hash = $password_hash
WHERE username = $username;
