-- Periodic sweeps (auto-cancel, reconciliation, purges, the file sweep) run on every instance;
-- each period one instance takes the sweep's lease and runs it. A lease that ran out (its holder
-- died) is taken by the next instance to ask.
CREATE TABLE job_leases (
    name   TEXT    PRIMARY KEY,
    holder TEXT    NOT NULL,
    until  INTEGER NOT NULL
);
