-- Columns get their real types on PostgreSQL: times become timestamptz (they were Unix seconds
-- in BIGINT) and flags boolean (they were 0 / 1). SQLite keeps its integers; the store reads and
-- binds both (crates/store/src/sql).

DROP INDEX addresses_one_default;

ALTER TABLE addresses
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN updated_at TYPE TIMESTAMPTZ USING to_timestamp(updated_at),
    ALTER COLUMN is_default DROP DEFAULT,
    ALTER COLUMN is_default TYPE BOOLEAN USING is_default <> 0,
    ALTER COLUMN is_default SET DEFAULT FALSE;

ALTER TABLE applications
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN updated_at TYPE TIMESTAMPTZ USING to_timestamp(updated_at),
    ALTER COLUMN credit_code_checksum_ok TYPE BOOLEAN USING credit_code_checksum_ok <> 0;

ALTER TABLE audit_log
    ALTER COLUMN at TYPE TIMESTAMPTZ USING to_timestamp(at);

ALTER TABLE bill_checks
    ALTER COLUMN claimed_at TYPE TIMESTAMPTZ USING to_timestamp(claimed_at),
    ALTER COLUMN checked_at TYPE TIMESTAMPTZ USING to_timestamp(checked_at);

ALTER TABLE certificates
    ALTER COLUMN not_before TYPE TIMESTAMPTZ USING to_timestamp(not_before),
    ALTER COLUMN not_after TYPE TIMESTAMPTZ USING to_timestamp(not_after),
    ALTER COLUMN issued_at TYPE TIMESTAMPTZ USING to_timestamp(issued_at),
    ALTER COLUMN revoked_at TYPE TIMESTAMPTZ USING to_timestamp(revoked_at);

ALTER TABLE consents
    ALTER COLUMN granted_at TYPE TIMESTAMPTZ USING to_timestamp(granted_at);

ALTER TABLE dev_outbox
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at);

ALTER TABLE document_readings
    ALTER COLUMN read_at TYPE TIMESTAMPTZ USING to_timestamp(read_at);

ALTER TABLE documents
    ALTER COLUMN uploaded_at TYPE TIMESTAMPTZ USING to_timestamp(uploaded_at);

ALTER TABLE field_sources
    ALTER COLUMN at TYPE TIMESTAMPTZ USING to_timestamp(at);

ALTER TABLE finance_alerts
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN resolved_at TYPE TIMESTAMPTZ USING to_timestamp(resolved_at);

ALTER TABLE form_templates
    ALTER COLUMN uploaded_at TYPE TIMESTAMPTZ USING to_timestamp(uploaded_at);

ALTER TABLE fulfilments
    ALTER COLUMN produced_at TYPE TIMESTAMPTZ USING to_timestamp(produced_at),
    ALTER COLUMN shipped_at TYPE TIMESTAMPTZ USING to_timestamp(shipped_at),
    ALTER COLUMN ready_at TYPE TIMESTAMPTZ USING to_timestamp(ready_at),
    ALTER COLUMN completed_at TYPE TIMESTAMPTZ USING to_timestamp(completed_at);

ALTER TABLE invoice_files
    ALTER COLUMN red TYPE BOOLEAN USING red <> 0;

ALTER TABLE invoices
    ALTER COLUMN issued_at TYPE TIMESTAMPTZ USING to_timestamp(issued_at),
    ALTER COLUMN red_issued_at TYPE TIMESTAMPTZ USING to_timestamp(red_issued_at);

ALTER TABLE job_leases
    ALTER COLUMN until TYPE TIMESTAMPTZ USING to_timestamp(until);

ALTER TABLE key_pins
    ALTER COLUMN stored_at TYPE TIMESTAMPTZ USING to_timestamp(stored_at);

ALTER TABLE login_failures
    ALTER COLUMN at TYPE TIMESTAMPTZ USING to_timestamp(at);

ALTER TABLE notifications
    ALTER COLUMN next_attempt_at TYPE TIMESTAMPTZ USING to_timestamp(next_attempt_at),
    ALTER COLUMN locked_until TYPE TIMESTAMPTZ USING to_timestamp(locked_until),
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN sent_at TYPE TIMESTAMPTZ USING to_timestamp(sent_at);

ALTER TABLE order_events
    ALTER COLUMN at TYPE TIMESTAMPTZ USING to_timestamp(at);

ALTER TABLE orders
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN updated_at TYPE TIMESTAMPTZ USING to_timestamp(updated_at),
    ALTER COLUMN claimed_at TYPE TIMESTAMPTZ USING to_timestamp(claimed_at),
    ALTER COLUMN flagged DROP DEFAULT,
    ALTER COLUMN flagged TYPE BOOLEAN USING flagged <> 0,
    ALTER COLUMN flagged SET DEFAULT FALSE;

ALTER TABLE packages
    ALTER COLUMN active DROP DEFAULT,
    ALTER COLUMN active TYPE BOOLEAN USING active <> 0,
    ALTER COLUMN active SET DEFAULT TRUE;

ALTER TABLE payment_notices
    ALTER COLUMN received_at TYPE TIMESTAMPTZ USING to_timestamp(received_at),
    ALTER COLUMN verified TYPE BOOLEAN USING verified <> 0;

ALTER TABLE payments
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN updated_at TYPE TIMESTAMPTZ USING to_timestamp(updated_at),
    ALTER COLUMN paid_at TYPE TIMESTAMPTZ USING to_timestamp(paid_at);

ALTER TABLE pickup_points
    ALTER COLUMN active DROP DEFAULT,
    ALTER COLUMN active TYPE BOOLEAN USING active <> 0,
    ALTER COLUMN active SET DEFAULT TRUE;

ALTER TABLE reading_jobs
    ALTER COLUMN locked_until TYPE TIMESTAMPTZ USING to_timestamp(locked_until),
    ALTER COLUMN queued_at TYPE TIMESTAMPTZ USING to_timestamp(queued_at),
    ALTER COLUMN updated_at TYPE TIMESTAMPTZ USING to_timestamp(updated_at);

ALTER TABLE refunds
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN done_at TYPE TIMESTAMPTZ USING to_timestamp(done_at),
    ALTER COLUMN next_attempt_at TYPE TIMESTAMPTZ USING to_timestamp(next_attempt_at);

ALTER TABLE revocation_requests
    ALTER COLUMN requested_at TYPE TIMESTAMPTZ USING to_timestamp(requested_at);

ALTER TABLE seal_choices
    ALTER COLUMN chosen_at TYPE TIMESTAMPTZ USING to_timestamp(chosen_at);

ALTER TABLE seals
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at);

ALTER TABLE sessions
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN last_seen_at TYPE TIMESTAMPTZ USING to_timestamp(last_seen_at),
    ALTER COLUMN expires_at TYPE TIMESTAMPTZ USING to_timestamp(expires_at);

ALTER TABLE sms_codes
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN expires_at TYPE TIMESTAMPTZ USING to_timestamp(expires_at),
    ALTER COLUMN consumed_at TYPE TIMESTAMPTZ USING to_timestamp(consumed_at);

ALTER TABLE staff
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN updated_at TYPE TIMESTAMPTZ USING to_timestamp(updated_at),
    ALTER COLUMN disabled DROP DEFAULT,
    ALTER COLUMN disabled TYPE BOOLEAN USING disabled <> 0,
    ALTER COLUMN disabled SET DEFAULT FALSE,
    ALTER COLUMN totp_enabled DROP DEFAULT,
    ALTER COLUMN totp_enabled TYPE BOOLEAN USING totp_enabled <> 0,
    ALTER COLUMN totp_enabled SET DEFAULT FALSE,
    ALTER COLUMN must_change_password DROP DEFAULT,
    ALTER COLUMN must_change_password TYPE BOOLEAN USING must_change_password <> 0,
    ALTER COLUMN must_change_password SET DEFAULT TRUE;

ALTER TABLE staff_sessions
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN last_seen_at TYPE TIMESTAMPTZ USING to_timestamp(last_seen_at),
    ALTER COLUMN expires_at TYPE TIMESTAMPTZ USING to_timestamp(expires_at);

ALTER TABLE station_tokens
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN last_used_at TYPE TIMESTAMPTZ USING to_timestamp(last_used_at),
    ALTER COLUMN revoked_at TYPE TIMESTAMPTZ USING to_timestamp(revoked_at);

ALTER TABLE users
    ALTER COLUMN created_at TYPE TIMESTAMPTZ USING to_timestamp(created_at),
    ALTER COLUMN updated_at TYPE TIMESTAMPTZ USING to_timestamp(updated_at),
    ALTER COLUMN closed_at TYPE TIMESTAMPTZ USING to_timestamp(closed_at),
    ALTER COLUMN restricted_until TYPE TIMESTAMPTZ USING to_timestamp(restricted_until);

CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default;
