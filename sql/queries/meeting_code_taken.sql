-- meeting_code_taken: whether a meeting that is not closed already uses this join code.
-- Parameters: $code VARCHAR.
SELECT count(*) > 0 FROM meetings WHERE code = $code AND status <> 'closed';
