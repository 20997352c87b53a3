-- 数字证书: the certificates the CA issued for orders (the DER as issued, and what lists and
-- searches show of it), the API tokens the fulfilment workstations authenticate with, and the
-- PINs of each produced USB-Key (sealed; the user PIN goes to the applicant once the key is in
-- their hands, the SO PIN stays for a later unlock).

CREATE TABLE certificates (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial            TEXT    NOT NULL,
    algorithm         TEXT    NOT NULL,
    order_id          BIGINT  NOT NULL REFERENCES orders (id),
    user_id           BIGINT  NOT NULL REFERENCES users (id),
    subject           TEXT    NOT NULL,
    issuer            TEXT    NOT NULL,
    credit_code       TEXT,
    fingerprint       TEXT    NOT NULL,
    not_before        BIGINT  NOT NULL,
    not_after         BIGINT  NOT NULL,
    der               BYTEA   NOT NULL,
    issued_by         BIGINT,
    issued_at         BIGINT  NOT NULL,
    replaces_serial   TEXT,
    revoked_at        BIGINT,
    revocation_reason TEXT,
    revoked_by        BIGINT,
    CONSTRAINT certificates_serial_key UNIQUE (serial)
);
CREATE INDEX certificates_user_idx ON certificates (user_id, id);
CREATE INDEX certificates_credit_code_idx ON certificates (credit_code);
-- One certificate in force per order: a second attempt revokes the first before it issues.
CREATE UNIQUE INDEX certificates_order_in_force_key ON certificates (order_id) WHERE revoked_at IS NULL;
-- The expiry reminders' sweep.
CREATE INDEX certificates_expiry_idx ON certificates (not_after) WHERE revoked_at IS NULL;

-- A company certificate is revoked by two staff members: one asks (with the reason), another
-- approves. One request per certificate.
CREATE TABLE revocation_requests (
    serial       TEXT    PRIMARY KEY REFERENCES certificates (serial),
    reason       TEXT    NOT NULL,
    note         TEXT    NOT NULL,
    requested_by BIGINT  NOT NULL,
    requested_at BIGINT  NOT NULL
);

CREATE TABLE station_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id     BIGINT  NOT NULL REFERENCES staff (id),
    name         TEXT    NOT NULL,
    digest       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    CONSTRAINT station_tokens_digest_key UNIQUE (digest)
);
CREATE INDEX station_tokens_staff_idx ON station_tokens (staff_id);

CREATE TABLE key_pins (
    order_id      BIGINT PRIMARY KEY REFERENCES orders (id),
    token_serial  TEXT    NOT NULL,
    user_pin      TEXT    NOT NULL,
    so_pin        TEXT    NOT NULL,
    stored_at     BIGINT  NOT NULL
);
