-- Payments: one trade per order and channel, applied to the order at most once (unique trade
-- number per channel, conditional updates). Refunds are at most one per payment (a payment that
-- arrived for an order that could no longer take it). Every notification is kept, verified or
-- not, without its signature; anything finance must look at becomes an alert.

CREATE TABLE payments (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    channel      TEXT    NOT NULL,
    out_trade_no TEXT    NOT NULL,
    amount_fen   INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    trade_no     TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    paid_at      INTEGER,
    CONSTRAINT payments_out_trade_no_key UNIQUE (out_trade_no),
    CONSTRAINT payments_order_channel_key UNIQUE (order_id, channel),
    CONSTRAINT payments_trade_no_key UNIQUE (channel, trade_no)
);
CREATE INDEX payments_status_idx ON payments (status, created_at);

CREATE TABLE refunds (
    id             INTEGER PRIMARY KEY,
    payment_id     INTEGER NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
    out_request_no TEXT    NOT NULL,
    amount_fen     INTEGER NOT NULL,
    reason         TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    done_at        INTEGER,
    CONSTRAINT refunds_payment_key UNIQUE (payment_id),
    CONSTRAINT refunds_out_request_no_key UNIQUE (out_request_no)
);

CREATE TABLE payment_notices (
    id           INTEGER PRIMARY KEY,
    channel      TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    verified     INTEGER NOT NULL,
    out_trade_no TEXT,
    outcome      TEXT    NOT NULL,
    summary      TEXT    NOT NULL
);
CREATE INDEX payment_notices_trade_idx ON payment_notices (out_trade_no, id);

CREATE TABLE finance_alerts (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    order_id     INTEGER REFERENCES orders (id) ON DELETE SET NULL,
    out_trade_no TEXT,
    detail       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);
