-- Accounts, sessions, SMS codes, login throttling, address book, development outbox.
-- Times are Unix seconds (UTC). Booleans are 0/1 integers, as on PostgreSQL.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    phone         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    name          TEXT,
    email         TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT users_phone_key UNIQUE (phone)
);

CREATE TABLE sessions (
    token_digest TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE sms_codes (
    id            INTEGER PRIMARY KEY,
    phone         TEXT    NOT NULL,
    purpose       TEXT    NOT NULL,
    code_mac      TEXT    NOT NULL,
    client        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    wrong_guesses INTEGER NOT NULL DEFAULT 0,
    consumed_at   INTEGER
);
CREATE INDEX sms_codes_phone_idx ON sms_codes (phone, purpose, created_at);
CREATE INDEX sms_codes_client_idx ON sms_codes (client, created_at);

CREATE TABLE login_failures (
    id  INTEGER PRIMARY KEY,
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX login_failures_key_idx ON login_failures (key, at);

CREATE TABLE addresses (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient     TEXT    NOT NULL,
    phone         TEXT    NOT NULL,
    province_code TEXT    NOT NULL,
    city_code     TEXT    NOT NULL,
    district_code TEXT    NOT NULL,
    region_name   TEXT    NOT NULL,
    detail        TEXT    NOT NULL,
    is_default    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX addresses_user_idx ON addresses (user_id);
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default = 1;

CREATE TABLE dev_outbox (
    id         INTEGER PRIMARY KEY,
    channel    TEXT    NOT NULL,
    recipient  TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
