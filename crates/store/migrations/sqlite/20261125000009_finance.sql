-- Finance: who asked for a refund and who approved it (above a set amount a second person must),
-- and the e-invoices issued for orders (the PDF encrypted in the file store).

ALTER TABLE refunds ADD COLUMN requested_by INTEGER;
ALTER TABLE refunds ADD COLUMN approved_by INTEGER;

CREATE TABLE invoices (
    order_id    INTEGER PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    invoice_no  TEXT    NOT NULL,
    issued_by   INTEGER,
    issued_at   INTEGER NOT NULL,
    file_key    TEXT    NOT NULL,
    wrapped_key TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    sent_count  INTEGER NOT NULL DEFAULT 0
);
