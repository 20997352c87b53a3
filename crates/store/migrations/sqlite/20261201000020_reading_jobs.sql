-- Reading uploaded photos in the background: each upload of a license or ID card queues a job
-- (one per document of an application; a new upload bumps its version, so a reading of the
-- photo it replaced is dropped). Any instance's worker leases due jobs; a lease that runs out
-- (the worker died) lets another take the job, up to a few attempts.
CREATE TABLE reading_jobs (
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL,
    user_id        INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER,
    error          TEXT,
    queued_at      INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (application_id, kind)
);
CREATE INDEX reading_jobs_due_idx ON reading_jobs (status, queued_at);
