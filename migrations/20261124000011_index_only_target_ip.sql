-- The chart of one target or one IP address, counted from the index alone.
--
-- A target's or an IP's chart (a clicked value in the table, or the history of
-- a role) counts the events themselves: no rollup keeps targets or IPs. Their
-- indexes held only the key and the time, so every matching event was a read
-- of its own heap page: one role's 90 days at 10 M events (≈37 000 events,
-- each on a different page) took ≈2.1 s from a cold cache. With the columns
-- that the chart groups and filters by carried in the index (as the actor
-- index of migration 8 does), the chart is an index-only scan.
drop index events_target_time_idx;
create index events_target_time_idx on events (target_id, occurred_at desc, id desc)
    include (type, environment, category, organization_id, app_id, outcome);

drop index events_ip_time_idx;
create index events_ip_time_idx on events (client_ip, occurred_at desc, id desc)
    include (type, environment, category, organization_id, app_id, outcome);
