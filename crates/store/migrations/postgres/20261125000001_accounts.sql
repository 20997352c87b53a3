-- Accounts, sessions, SMS codes, login throttling, address book, development outbox.
-- Times are Unix seconds (UTC). Booleans are 0/1 integers, as on PostgreSQL.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    name          TEXT,
    email         TEXT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    CONSTRAINT users_phone_key UNIQUE (phone)
);

CREATE TABLE sessions (
    token_digest TEXT    PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE sms_codes (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone         TEXT    NOT NULL,
    purpose       TEXT    NOT NULL,
    code_mac      TEXT    NOT NULL,
    client        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    wrong_guesses BIGINT  NOT NULL DEFAULT 0,
    consumed_at   BIGINT
);
CREATE INDEX sms_codes_phone_idx ON sms_codes (phone, purpose, created_at);
CREATE INDEX sms_codes_client_idx ON sms_codes (client, created_at);

CREATE TABLE login_failures (
    id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT    NOT NULL,
    at  BIGINT  NOT NULL
);
CREATE INDEX login_failures_key_idx ON login_failures (key, at);

CREATE TABLE addresses (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient     TEXT    NOT NULL,
    phone         TEXT    NOT NULL,
    province_code TEXT    NOT NULL,
    city_code     TEXT    NOT NULL,
    district_code TEXT    NOT NULL,
    region_name   TEXT    NOT NULL,
    detail        TEXT    NOT NULL,
    is_default    BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX addresses_user_idx ON addresses (user_id);
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default = 1;

CREATE TABLE dev_outbox (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel    TEXT    NOT NULL,
    recipient  TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
