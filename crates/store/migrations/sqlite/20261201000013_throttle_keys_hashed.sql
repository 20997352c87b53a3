-- Login throttle records are now keyed by a keyed hash of the phone number, client address or
-- staff username (never the plain value). The old rows name phone numbers in the clear and only
-- matter for 15 minutes: they go.
DELETE FROM login_failures WHERE key LIKE 'login:%' OR key LIKE 'staff-%';
