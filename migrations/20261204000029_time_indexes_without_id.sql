-- The time indexes keep the time, not the id after it.
--
-- Each index that reads events newest first by a value (type, app,
-- environment, target, actor, IP, unusual outcome) and the time index itself
-- ended in `id desc`, the tiebreak of the explorer's order. The id is a text
-- of ≈37 bytes, more than the rest of such an index entry: measured at 10 M
-- demo events, the seven largest held 291 bytes per event for it (2 144 → 1 852
-- bytes per stored event, everything included, once they were rebuilt).
--
-- Events rarely share a time to the microsecond, so PostgreSQL orders the
-- index's rows by time and sorts only those ties by id (an incremental sort,
-- ≈0.1 ms for a page); the keyset condition `(occurred_at, id) < (…)` still
-- starts the scan at the cursor's time. A filter by several types never used
-- the order of its index (a bitmap scan and a top-N sort, as before). The
-- covering columns of the target, actor and IP indexes stay: their charts
-- still count from the index alone. Measured at 10 M events: every page,
-- chart and the 16-client figures as before (README, "The write path").
drop index events_time_idx;
create index events_time_idx on events (occurred_at desc) where environment <> 'vigil';

drop index events_environment_time_idx;
create index events_environment_time_idx on events (environment, occurred_at desc);

drop index events_type_time_idx;
create index events_type_time_idx on events (type, occurred_at desc);

drop index events_app_time_idx;
create index events_app_time_idx on events (app_id, occurred_at desc);

drop index events_unusual_outcome_time_idx;
create index events_unusual_outcome_time_idx on events (outcome, occurred_at desc)
    where outcome <> 'success';

drop index events_target_time_idx;
create index events_target_time_idx on events (target_id, occurred_at desc)
    include (type, environment, category, organization_id, app_id, outcome);

drop index events_actor_key_idx;
create index events_actor_key_idx on events (actor_key, occurred_at desc)
    include (type, environment, category, organization_id, app_id, outcome);

drop index events_ip_time_idx;
create index events_ip_time_idx on events (client_ip, occurred_at desc)
    include (type, environment, category, organization_id, app_id, outcome);
