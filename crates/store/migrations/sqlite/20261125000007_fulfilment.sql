-- 制证与发货: the produced key and how it left — courier and tracking number, or a pickup code
-- (sealed: the applicant sees it, staff check it at handover).

CREATE TABLE fulfilments (
    order_id     INTEGER PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    key_type     TEXT    NOT NULL,
    cert_serial  TEXT    NOT NULL,
    valid_from   TEXT    NOT NULL,
    valid_to     TEXT    NOT NULL,
    produced_by  INTEGER,
    produced_at  INTEGER NOT NULL,
    courier      TEXT,
    tracking_no  TEXT,
    shipped_at   INTEGER,
    pickup_code  TEXT,
    ready_at     INTEGER,
    completed_at INTEGER
);
CREATE INDEX fulfilments_shipped_idx ON fulfilments (shipped_at);
