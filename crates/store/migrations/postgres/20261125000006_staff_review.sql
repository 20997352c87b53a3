-- Back office: staff accounts (password + TOTP), their sessions, the append-only audit log, and
-- review state on orders (who claimed it; which document versions were approved).

CREATE TABLE staff (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username             TEXT    NOT NULL,
    name                 TEXT    NOT NULL,
    phone                TEXT,
    password_hash        TEXT    NOT NULL,
    roles                TEXT    NOT NULL,
    totp_secret          TEXT,
    totp_enabled         BIGINT  NOT NULL DEFAULT 0,
    totp_last_step       BIGINT  NOT NULL DEFAULT 0,
    disabled             BIGINT  NOT NULL DEFAULT 0,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    CONSTRAINT staff_username_key UNIQUE (username)
);

CREATE TABLE staff_sessions (
    token_digest TEXT    PRIMARY KEY,
    staff_id     BIGINT  NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    stage        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);

-- Who did what to which order, and who saw which personal data. No foreign keys: entries outlive
-- what they mention. A trigger refuses every UPDATE and DELETE, whichever role asks.
CREATE TABLE audit_log (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       BIGINT  NOT NULL,
    staff_id BIGINT,
    action   TEXT    NOT NULL,
    order_id BIGINT,
    detail   TEXT    NOT NULL
);
CREATE INDEX audit_log_order_idx ON audit_log (order_id, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

ALTER TABLE orders ADD COLUMN claimed_by BIGINT REFERENCES staff (id);
ALTER TABLE orders ADD COLUMN claimed_at BIGINT;

CREATE TABLE review_pins (
    order_id BIGINT  NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind     TEXT    NOT NULL,
    sha256   TEXT    NOT NULL,
    PRIMARY KEY (order_id, kind)
);
