-- account_credentials: what a login check needs; read again inside the login's write transaction.
-- Parameters: $username VARCHAR.
SELECT password_hash, active, failed_logins, locked_until
FROM accounts
WHERE username = $username;
