-- account_set_active: disable or enable an account. Enabling also lifts a lock-out and clears the failures.
-- Parameters: $username VARCHAR, $active BOOLEAN, $now TIMESTAMP (UTC).
UPDATE accounts
SET active = $active,
    disabled_at = CASE WHEN $active THEN NULL ELSE $now END,
    failed_logins = CASE WHEN $active THEN 0 ELSE failed_logins END,
    locked_until = CASE WHEN $active THEN NULL ELSE locked_until END
WHERE username = $username;
