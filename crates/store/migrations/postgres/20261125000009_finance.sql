-- Finance: who asked for a refund and who approved it (above a set amount a second person must),
-- and the e-invoices issued for orders (the PDF encrypted in the file store).

ALTER TABLE refunds ADD COLUMN requested_by BIGINT;
ALTER TABLE refunds ADD COLUMN approved_by BIGINT;

CREATE TABLE invoices (
    order_id    BIGINT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    invoice_no  TEXT    NOT NULL,
    issued_by   BIGINT,
    issued_at   BIGINT NOT NULL,
    file_key    TEXT    NOT NULL,
    wrapped_key TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        BIGINT NOT NULL,
    sent_count  BIGINT NOT NULL DEFAULT 0
);
