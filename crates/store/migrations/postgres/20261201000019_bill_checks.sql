-- Each day's gateway bill compared with our records: fetched by itself each morning (one
-- instance claims the day) or uploaded by finance. A claim without checked_at is in progress.
CREATE TABLE bill_checks (
    channel     TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    claimed_at  BIGINT NOT NULL,
    checked_at  BIGINT,
    checked_by  BIGINT,
    differences BIGINT,
    PRIMARY KEY (channel, day)
);
