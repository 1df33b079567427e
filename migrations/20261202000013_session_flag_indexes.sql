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

