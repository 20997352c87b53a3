-- Back office: staff accounts (password + TOTP), their sessions, the append-only audit log, and
-- review state on orders (who claimed it; which document versions were approved).

CREATE TABLE staff (
    id                   INTEGER PRIMARY KEY,
    username             TEXT    NOT NULL,
    name                 TEXT    NOT NULL,
    phone                TEXT,
    password_hash        TEXT    NOT NULL,
    roles                TEXT    NOT NULL,
    totp_secret          TEXT,
    totp_enabled         INTEGER NOT NULL DEFAULT 0,
    totp_last_step       INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    CONSTRAINT staff_username_key UNIQUE (username)
);

CREATE TABLE staff_sessions (
    token_digest TEXT    PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    -- 'password' until the second factor is given, then 'full'.
    stage        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

-- Who did what to which order, and who saw which personal data. No foreign keys: entries outlive
-- what they mention. Rows cannot be changed or removed.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    staff_id INTEGER,
    action   TEXT    NOT NULL,
    order_id INTEGER,
    detail   TEXT    NOT NULL
);
CREATE INDEX audit_log_order_idx ON audit_log (order_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

ALTER TABLE orders ADD COLUMN claimed_by INTEGER REFERENCES staff (id);
ALTER TABLE orders ADD COLUMN claimed_at INTEGER;

CREATE TABLE review_pins (
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind     TEXT    NOT NULL,
    sha256   TEXT    NOT NULL,
    PRIMARY KEY (order_id, kind)
);
