-- Where an order's seal picture comes from, as the reviewer chose: drawn from the approved name
-- (the default, no row) or lifted off the applicant's stamped 印章采样表.

CREATE TABLE seal_choices (
    order_id   INTEGER NOT NULL PRIMARY KEY REFERENCES orders (id),
    source     TEXT    NOT NULL CHECK (source IN ('generated', 'scanned')),
    chosen_by  INTEGER NOT NULL,
    chosen_at  INTEGER NOT NULL
);
