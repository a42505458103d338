-- account_by_email: the account an identity-provider (OIDC) address signs in as (any state; the caller checks).
-- Parameters: $email VARCHAR (lower case).
SELECT username, role, email, active, created_at, disabled_at, failed_logins, locked_until, last_login_at,
       password_changed_at
FROM accounts
WHERE email = $email;
