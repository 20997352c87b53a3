-- Each day's gateway bill compared with our records: fetched by itself each morning (one
-- instance claims the day) or uploaded by finance. A claim without checked_at is in progress.
CREATE TABLE bill_checks (
    channel     TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    claimed_at  INTEGER NOT NULL,
    checked_at  INTEGER,
    checked_by  INTEGER,
    differences INTEGER,
    PRIMARY KEY (channel, day)
);
