-- account_set_email: set or clear the identity-provider (OIDC) address of an account.
-- Parameters: $username VARCHAR, $email VARCHAR (lower case, or NULL).
UPDATE accounts SET email = $email WHERE username = $username;
