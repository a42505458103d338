-- account_login_failed: record a failed password login (the caller counts under the write lock).
-- Parameters: $username VARCHAR, $failed_logins INTEGER (failures in a row, this one included),
--   $locked_until TIMESTAMP (NULL unless this failure locks the account).
UPDATE accounts
SET failed_logins = $failed_logins, locked_until = $locked_until
WHERE username = $username;
