-- 制证与发货: the produced key and how it left — courier and tracking number, or a pickup code
-- (sealed: the applicant sees it, staff check it at handover).

CREATE TABLE fulfilments (
    order_id     BIGINT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    key_type     TEXT    NOT NULL,
    cert_serial  TEXT    NOT NULL,
    valid_from   TEXT    NOT NULL,
    valid_to     TEXT    NOT NULL,
    produced_by  BIGINT,
    produced_at  BIGINT NOT NULL,
    courier      TEXT,
    tracking_no  TEXT,
    shipped_at   BIGINT,
    pickup_code  TEXT,
    ready_at     BIGINT,
    completed_at BIGINT
);
CREATE INDEX fulfilments_shipped_idx ON fulfilments (shipped_at);
