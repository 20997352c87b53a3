-- The catalog (packages, fees, pickup points), seeded with defaults staff can change later, and
-- application drafts. ID numbers are stored sealed (AES-256-GCM) with a keyed blind index.

CREATE TABLE packages (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code         TEXT    NOT NULL,
    subject_kind TEXT    NOT NULL,
    key_type     TEXT    NOT NULL,
    years        BIGINT  NOT NULL,
    price_fen    BIGINT  NOT NULL CHECK (price_fen >= 0),
    active       BIGINT  NOT NULL DEFAULT 1,
    sort_order   BIGINT  NOT NULL DEFAULT 0,
    CONSTRAINT packages_code_key UNIQUE (code)
);

CREATE TABLE fees (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    courier_fen BIGINT  NOT NULL CHECK (courier_fen >= 0),
    pickup_fen  BIGINT  NOT NULL CHECK (pickup_fen >= 0),
    service_fen BIGINT  NOT NULL CHECK (service_fen >= 0)
);

CREATE TABLE pickup_points (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    TEXT    NOT NULL,
    address TEXT    NOT NULL,
    phone   TEXT    NOT NULL,
    hours   TEXT    NOT NULL,
    active  BIGINT  NOT NULL DEFAULT 1
);

INSERT INTO packages (code, subject_kind, key_type, years, price_fen, sort_order) VALUES
    ('ent-main-1', 'enterprise', 'main', 1, 40000, 10),
    ('ent-main-2', 'enterprise', 'main', 2, 70000, 20),
    ('ent-main-3', 'enterprise', 'main', 3, 100000, 30),
    ('ent-sub-1', 'enterprise', 'secondary', 1, 20000, 40),
    ('ent-sub-2', 'enterprise', 'secondary', 2, 35000, 50),
    ('ent-sub-3', 'enterprise', 'secondary', 3, 50000, 60),
    ('per-main-1', 'personal', 'main', 1, 20000, 110),
    ('per-main-2', 'personal', 'main', 2, 36000, 120),
    ('per-main-3', 'personal', 'main', 3, 50000, 130),
    ('per-sub-1', 'personal', 'secondary', 1, 10000, 140);

INSERT INTO fees (id, courier_fen, pickup_fen, service_fen) VALUES (1, 1500, 0, 0);

INSERT INTO pickup_points (name, address, phone, hours) VALUES
    ('电子签章服务中心（总部服务大厅）', '请在管理后台填写自提点地址', '400-000-0000', '工作日 9:00–12:00，13:30–17:30');

CREATE TABLE applications (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id                BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject_kind           TEXT    NOT NULL,
    business               TEXT    NOT NULL,
    replacement_reason     TEXT,
    replaced_serial        TEXT,
    package_id             BIGINT  REFERENCES packages (id),
    company_name           TEXT,
    credit_code            TEXT,
    credit_code_checksum_ok BIGINT,
    user_type              TEXT,
    holder_name            TEXT,
    holder_id_sealed       TEXT,
    holder_id_index        TEXT,
    agent_name             TEXT,
    agent_id_sealed        TEXT,
    agent_id_index         TEXT,
    agent_phone            TEXT,
    agent_email            TEXT,
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL
);
CREATE INDEX applications_user_idx ON applications (user_id);
