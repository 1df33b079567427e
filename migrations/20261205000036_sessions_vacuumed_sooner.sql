-- A session's row is written again by every batch that moves it on, so its
-- table gathers dead rows all the time, and the pages they were on are no
-- longer known to be all visible: the Sessions page's map, read from the
-- index by last seen alone (migration 30), then reads those rows' pages too.
-- At the default threshold (a fifth of the table) autovacuum seldom came: at
-- 10 M demo events, 14 700 dead rows of 595 000 made the map of one
-- organization's week fetch 2 661 rows from the heap (23.0 ms; 17.4 ms after
-- a VACUUM of 0.9 s). A hundredth of the table is the threshold here.
alter table sessions set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
