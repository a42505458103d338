-- purge_audit: delete the audit_log rows logged before the cutoff. Parameters: $audit_before TIMESTAMP.
DELETE FROM audit_log WHERE (site = $site OR site IS NULL) AND logged_at < $audit_before;
