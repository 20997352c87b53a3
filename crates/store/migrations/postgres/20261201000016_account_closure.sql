-- 注销账户 (PIPL Art. 47): an account with orders is closed and restricted, not deleted — its
-- login is gone (phone replaced by a keyed hash, no password, no name or email) and its orders
-- are kept, for nothing but what the law requires, until restricted_until.
ALTER TABLE users ADD COLUMN closed_at BIGINT;
ALTER TABLE users ADD COLUMN restricted_until BIGINT;
