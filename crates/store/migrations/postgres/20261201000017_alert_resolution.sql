-- A finance alert (a bill difference, a failed refund) is marked resolved with a note.
ALTER TABLE finance_alerts ADD COLUMN resolved_at BIGINT;
ALTER TABLE finance_alerts ADD COLUMN resolved_by BIGINT;
ALTER TABLE finance_alerts ADD COLUMN resolution TEXT;
