-- Orders and their history. Everything shown on an order is a snapshot taken at submission, so
-- later catalog or address-book edits never change what was ordered. One open order per subject
-- (blind index of the credit code or ID number) and business type.

CREATE TABLE orders (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_no              TEXT    NOT NULL,
    user_id               BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application_id        BIGINT  NOT NULL REFERENCES applications (id),
    idempotency_key       TEXT    NOT NULL,
    request_hash          TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    subject_kind          TEXT    NOT NULL,
    business              TEXT    NOT NULL,
    subject_index         TEXT    NOT NULL,
    subject_name          TEXT    NOT NULL,
    package_name          TEXT    NOT NULL,
    delivery              TEXT    NOT NULL,
    ship_to               TEXT,
    pickup_point          TEXT,
    invoice_kind          TEXT    NOT NULL,
    invoice_title         TEXT,
    invoice_taxpayer_no   TEXT,
    invoice_address_phone TEXT,
    invoice_bank_account  TEXT,
    invoice_delivery      TEXT,
    invoice_email         TEXT,
    invoice_ship_to       TEXT,
    package_fen           BIGINT  NOT NULL,
    delivery_fen          BIGINT  NOT NULL,
    service_fen           BIGINT  NOT NULL,
    total_fen             BIGINT  NOT NULL,
    flagged               BIGINT  NOT NULL DEFAULT 0,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL,
    CONSTRAINT orders_order_no_key UNIQUE (order_no),
    CONSTRAINT orders_idempotency_key UNIQUE (user_id, idempotency_key)
);
CREATE INDEX orders_user_idx ON orders (user_id, id);
CREATE INDEX orders_status_idx ON orders (status, created_at);
CREATE UNIQUE INDEX orders_one_open_per_subject ON orders (subject_index, business)
    WHERE status IN ('pending_payment', 'under_review', 'rejected', 'processing', 'delivering');

CREATE TABLE order_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    BIGINT  NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    reason      TEXT,
    at          BIGINT  NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);
