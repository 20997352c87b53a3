-- The durable notification outbox: messages are enqueued in the same transaction as the state
-- change they report, once per dedupe key, and delivered by workers that lease them (several
-- instances on PostgreSQL take different rows with FOR UPDATE SKIP LOCKED).

CREATE TABLE notifications (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key      TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    html            TEXT,
    status          TEXT    NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    CONSTRAINT notifications_dedupe_key UNIQUE (dedupe_key)
);
CREATE INDEX notifications_due_idx ON notifications (status, next_attempt_at);
