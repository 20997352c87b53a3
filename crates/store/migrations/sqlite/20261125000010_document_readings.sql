-- What OCR read from an uploaded license or ID card, sealed (it holds ID numbers): it fills the
-- applicant's form and sits beside the typed values for the reviewer.

CREATE TABLE document_readings (
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL,
    sealed         TEXT    NOT NULL,
    read_at        INTEGER NOT NULL,
    PRIMARY KEY (application_id, kind)
);
