-- purge_audit_count: audit_log rows a purge would delete. Parameters: $audit_before TIMESTAMP.
SELECT count(*) FROM audit_log WHERE (site = $site OR site IS NULL) AND logged_at < $audit_before;
