-- Session flags ask, for one session, whether the same user had an earlier
-- session in the same country, or on the same device. With only the index by
-- user and start, that read every earlier session of the user: the demo's
-- busiest users have 17 000 sessions each at 10 M events, and a step of the
-- deriving worker spent seconds on it. Keyed by the value, each question is
-- one index probe.
create index sessions_user_country_idx on sessions (environment, organization_id, user_key, country_code, started_at)
    where country_code is not null;
create index sessions_user_device_idx on sessions (environment, organization_id, user_key, device_key, started_at)
    where device_key is not null;
-- Flags are computed by the deriving worker for the sessions it touches; no
-- query looks for sessions without flags any more.
drop index sessions_unflagged_idx;

-- Prefix search (`upd*`, `91.64*`) tests search_text with LIKE, which only
-- the trigram index answers: without it (migration 12) a prefix over the
-- default 24 hours read the whole day's events, ≈1 s at 10 M events. Back it
-- comes, at its cost to every write, until prefixes have an index of their own.
create index events_search_text_idx on events using gin (search_text gin_trgm_ops);
