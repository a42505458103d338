-- account_insert: a new, active account.
-- Parameters: $username VARCHAR, $role VARCHAR, $email VARCHAR (lower case, or NULL),
--   $password_hash VARCHAR (argon2id PHC string, or NULL for an identity-provider-only account),
--   $now TIMESTAMP (UTC).
INSERT INTO accounts (username, role, email, password_hash, active, created_at, failed_logins,
                      password_changed_at)
VALUES ($username, $role, $email, $password_hash, true, $now, 0,
        CASE WHEN $password_hash IS NULL THEN NULL ELSE $now END);
