-- purge_log_insert: record an applied purge. Parameters: $id INTEGER, $actor VARCHAR, $concerns_before,
-- $audit_before TIMESTAMP, $retention_months, $audit_retention_months INTEGER, $concerns_deleted,
-- $audit_deleted, $archive_rows BIGINT, $detail VARCHAR (JSON text).
INSERT INTO purge_log (id, purged_at, actor, concerns_before, audit_before, retention_months,
                       audit_retention_months, concerns_deleted, audit_deleted, archive_rows, detail, site)
VALUES ($id, now(), $actor, $concerns_before, $audit_before, $retention_months, $audit_retention_months,
        $concerns_deleted, $audit_deleted, $archive_rows, $detail, $site);
