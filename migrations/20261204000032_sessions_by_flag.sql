-- The sessions page filtered by a flag reads that flag's sessions only.
--
-- The filter read the week's sessions newest first from the last-seen index
-- and tested each one's flags on its row (PostgreSQL 15 tests a plain index
-- scan's filter only after reading the row): 35-40 ms a page for the one
-- session flagged "new device" among the week's 44 000 at 10 M demo events.
-- One small index per flag holds only the sessions that carry it; the query
-- names the flag in its text (one of `model::FLAGS`, never input), so the
-- planner can pick it.
create index sessions_new_country_idx on sessions (last_seen desc) where 'new_country' = any(flags);
create index sessions_new_device_idx on sessions (last_seen desc) where 'new_device' = any(flags);
create index sessions_impossible_travel_idx on sessions (last_seen desc) where 'impossible_travel' = any(flags);
