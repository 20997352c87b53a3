-- A refund the gateway refuses is retried on a schedule, then ends as 'failed' for finance to
-- resolve: retry it, or record that the money went back another way (with a note).
ALTER TABLE refunds ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN next_attempt_at BIGINT;
ALTER TABLE refunds ADD COLUMN last_error TEXT;
ALTER TABLE refunds ADD COLUMN resolution TEXT;
