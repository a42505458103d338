-- 0007_sessions_without_fk: sessions keep their user name without a foreign key to accounts.
-- DuckDB's COPY FROM DATABASE (koban_geo.maintenance.backup) copies tables in an order that breaks a foreign
-- key ("key username does not exist in the referenced table"); koban_geo.accounts checks the account on every
-- session lookup (session_user joins accounts and refuses unknown or disabled users), so the key adds nothing.
CREATE TABLE sessions_0007 (
    token_hash VARCHAR PRIMARY KEY CHECK (length(token_hash) = 64),  -- sha256(token) in hex; never the token
    username   VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
INSERT INTO sessions_0007 SELECT token_hash, username, created_at, expires_at, revoked_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_0007 RENAME TO sessions;
