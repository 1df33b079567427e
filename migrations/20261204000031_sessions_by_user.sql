-- The sessions page filtered by user reads that user's sessions by key.
--
-- The filter read the week's sessions newest first from the last-seen index
-- and tested each one's user on its row (PostgreSQL 15 tests a plain index
-- scan's filter only after reading the row): 20 ms of SQL, 46 ms a page, for
-- one user at 10 M demo events. The user's keys come from `names`, as for the
-- events, and each is read from this index newest first: 2 ms.
create index sessions_user_last_seen_idx on sessions (user_key, last_seen desc);
