-- account_get: one account by username (without its password hash).
-- Parameters: $username VARCHAR.
SELECT username, role, email, active, created_at, disabled_at, failed_logins, locked_until, last_login_at,
       password_changed_at
FROM accounts
WHERE username = $username;
