-- PostgreSQL's time and flag columns got their real types in this version (timestamptz, boolean).
-- SQLite keeps Unix seconds and 0 / 1 in INTEGER columns: nothing changes here.
SELECT 1;
