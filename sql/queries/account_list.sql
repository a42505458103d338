-- account_list: every account (without password hashes), by username.
-- Parameters: none.
SELECT username, role, email, active, created_at, disabled_at, failed_logins, locked_until, last_login_at,
       password_changed_at
FROM accounts
ORDER BY username;
