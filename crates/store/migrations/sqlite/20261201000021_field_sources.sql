-- Per field of an application that a photo was read for: whether the applicant kept what OCR
-- read (accepted) or changed it (corrected). The reviewer sees it; /metrics counts it per field
-- (the production measure of OCR accuracy).
CREATE TABLE field_sources (
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    field          TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    at             INTEGER NOT NULL,
    PRIMARY KEY (application_id, field)
);
