-- 电子印章: the GB/T 38540 seal made for each certificate — the signed file as made, which
-- the applicant downloads and the workstation writes to the USB-Key beside the certificate.

CREATE TABLE seals (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial     TEXT    NOT NULL REFERENCES certificates (serial),
    es_id      TEXT    NOT NULL,
    der        BYTEA   NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT seals_serial_key UNIQUE (serial),
    CONSTRAINT seals_es_id_key UNIQUE (es_id)
);
