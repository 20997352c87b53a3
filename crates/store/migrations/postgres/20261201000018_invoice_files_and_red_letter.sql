-- E-invoices as the fully digital invoice (全电发票) comes: a PDF, and the OFD and XML when
-- finance has them; and the red-letter invoice (红字发票) that voids an invoice once its order is
-- refunded. Every file is encrypted in the file store; the invoice's PDF moves here with the rest.
ALTER TABLE invoices ADD COLUMN red_invoice_no TEXT;
ALTER TABLE invoices ADD COLUMN red_issued_by BIGINT;
ALTER TABLE invoices ADD COLUMN red_issued_at BIGINT;

CREATE TABLE invoice_files (
    order_id    BIGINT NOT NULL REFERENCES invoices (order_id) ON DELETE CASCADE,
    red         BIGINT NOT NULL,
    format      TEXT    NOT NULL,
    file_key    TEXT    NOT NULL,
    wrapped_key TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        BIGINT NOT NULL,
    PRIMARY KEY (order_id, red, format)
);

INSERT INTO invoice_files (order_id, red, format, file_key, wrapped_key, sha256, size)
    SELECT order_id, 0, 'pdf', file_key, wrapped_key, sha256, size FROM invoices;

ALTER TABLE invoices DROP COLUMN file_key;
ALTER TABLE invoices DROP COLUMN wrapped_key;
ALTER TABLE invoices DROP COLUMN sha256;
ALTER TABLE invoices DROP COLUMN size;

-- Notifications carry attachments by reference (the files are read and decrypted when sent).
ALTER TABLE notifications ADD COLUMN attachments TEXT;
