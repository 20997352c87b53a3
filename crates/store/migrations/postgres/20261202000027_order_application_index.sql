-- 确认订单 asks whether the application already has an open order, and the draft sweep and
-- account closure ask whether it was ever ordered: both look orders up by application. Without
-- this index each such lookup read every pending order.
CREATE INDEX orders_application_idx ON orders (application_id);
