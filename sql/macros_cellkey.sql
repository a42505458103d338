-- Registered only on a store that has its meta table (koban_geo.store.sql.register_macros): a macro's
-- subquery is bound when the macro is made, and a store opened without migrations may have no tables yet.
-- koban_record_key(name): the cell-key record key 0..255 of a report or group name (koban_geo.privacy.cellkey):
-- the first byte of SHA-256 of the store's secret salt (meta 'cell_key_salt'), '/', and the name.
CREATE OR REPLACE TEMP MACRO koban_record_key(name) AS (
    ('0x' || left(sha256((SELECT value FROM meta WHERE key = 'cell_key_salt') || '/' || name), 2))::UTINYINT
);
