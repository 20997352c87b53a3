-- Documents of applications (blobs are encrypted in the file store; only their sealed data key and
-- metadata live here) and separate consents to processing sensitive personal information.

CREATE TABLE documents (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application_id BIGINT  NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL,
    file_key       TEXT    NOT NULL,
    wrapped_key    TEXT    NOT NULL,
    content_type   TEXT    NOT NULL,
    size           BIGINT  NOT NULL,
    sha256         TEXT    NOT NULL,
    uploaded_at    BIGINT  NOT NULL,
    CONSTRAINT documents_one_per_kind UNIQUE (application_id, kind),
    CONSTRAINT documents_file_key UNIQUE (file_key)
);

-- Append-only: the application never updates or deletes a consent row.
CREATE TABLE consents (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version     TEXT    NOT NULL,
    text_sha256 TEXT    NOT NULL,
    purposes    TEXT    NOT NULL,
    client      TEXT    NOT NULL,
    granted_at  BIGINT  NOT NULL
);
CREATE INDEX consents_user_idx ON consents (user_id, version);
