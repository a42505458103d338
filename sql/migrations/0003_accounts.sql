-- 0003_accounts: local accounts (officers, analysts, council users, admins) and their login sessions.
-- Passwords are kept only as argon2id PHC strings; a NULL hash means no local password (the user signs in
-- through the police identity provider only). Sessions keep only the SHA-256 (hex) of the random token the
-- browser holds, so a copy of the store cannot be used to sign in. All timestamps are UTC.
-- email: the identity-provider (OIDC) address that signs in as this account, set by an admin; lower case,
--   unique among accounts (checked by koban_geo.accounts under the write lock: DuckDB rewrites rows with an
--   indexed column changed, which the sessions foreign key would refuse).
-- Rows are never deleted: a leaver is disabled, so the audit log's actors keep a meaning.

CREATE TABLE accounts (
    username            VARCHAR PRIMARY KEY CHECK (regexp_full_match(username, '[a-z0-9._-]{2,64}')),
    role                VARCHAR NOT NULL CHECK (role IN ('officer', 'analyst', 'council', 'admin')),
    email               VARCHAR CHECK (email IS NULL OR (email = lower(email) AND contains(email, '@'))),
    password_hash       VARCHAR CHECK (password_hash IS NULL OR starts_with(password_hash, '$argon2id$')),
    active              BOOLEAN NOT NULL DEFAULT true,
    created_at          TIMESTAMP NOT NULL,
    disabled_at         TIMESTAMP,
    failed_logins       INTEGER NOT NULL DEFAULT 0,   -- failed password logins in a row
    locked_until        TIMESTAMP,                    -- refused until then, even with the right password
    last_login_at       TIMESTAMP,
    password_changed_at TIMESTAMP
);

CREATE TABLE sessions (
    token_hash VARCHAR PRIMARY KEY CHECK (length(token_hash) = 64),  -- sha256(token) in hex; never the token
    username   VARCHAR NOT NULL REFERENCES accounts (username),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
