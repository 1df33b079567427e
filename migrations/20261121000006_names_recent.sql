-- The user box suggests the most recently seen actors on every explorer load:
-- read them from an index instead of sorting every actor ever seen.
create index names_actor_last_seen_idx on names (last_seen desc) where kind = 'actor';
