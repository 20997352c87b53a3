-- A staff account's initial (printed) password works for the first login only: the holder must
-- choose their own before anything else.
ALTER TABLE staff ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 1;
