-- A finance alert (a bill difference, a failed refund) is marked resolved with a note.
ALTER TABLE finance_alerts ADD COLUMN resolved_at INTEGER;
ALTER TABLE finance_alerts ADD COLUMN resolved_by INTEGER;
ALTER TABLE finance_alerts ADD COLUMN resolution TEXT;
