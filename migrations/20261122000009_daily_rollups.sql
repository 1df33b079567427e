-- Rollups for the charts that still counted events one by one or summed large
-- hourly rollups: per day (30 days and more), per actor and day (a user over
-- 30 days and more) and per quarter hour (the default 24 hours).
-- All are filled by the same insert statement as the older rollups
-- (store::insert_events); here they are backfilled from the hourly rollup or,
-- where it lacks the grain or the actor, from the events.
--
-- Daily rollups for charts with one bar per day. From the hourly rollups a
-- 90-day chart summed ≈94 000 coarse rows, or ≈54 000 full rows read through
-- the type index for one event type (68 ms and 127 ms at 10 M events); per day
-- these are ≈4 400 and ≈330 000 rows in all, a few thousand for one type.

create table event_counts_daily (
    day             date   not null,
    environment     text   not null,
    organization_id text   not null,
    app_id          text   not null,
    type            text   not null,
    category        text   not null,
    outcome         text   not null,
    events          bigint not null,
    primary key (day, environment, organization_id, app_id, type, category, outcome)
);

insert into event_counts_daily (day, environment, organization_id, app_id, type, category, outcome, events)
select (hour at time zone 'UTC')::date, environment, organization_id, app_id, type, category, outcome, sum(events)
from event_counts
group by 1, 2, 3, 4, 5, 6, 7;

-- The chart reads environment, category and the count for one type, app or
-- unusual outcome: covering indexes make that an index-only scan.
create index event_counts_daily_type_idx on event_counts_daily (type, day) include (environment, category, events);
create index event_counts_daily_app_idx on event_counts_daily (app_id, day) include (environment, category, events);
create index event_counts_daily_unusual_outcome_idx on event_counts_daily (outcome, day)
    include (environment, category, events) where outcome <> 'success';

create table event_counts_daily_coarse (
    day             date   not null,
    environment     text   not null,
    organization_id text   not null,
    category        text   not null,
    events          bigint not null,
    primary key (day, environment, organization_id, category)
);

insert into event_counts_daily_coarse (day, environment, organization_id, category, events)
select day, environment, organization_id, category, sum(events)
from event_counts_daily
group by 1, 2, 3, 4;

-- Counts per actor and day, for a user's chart over long ranges: one busy user
-- over 90 days was an index-only scan of ≈250 000 index entries. Keyed by the
-- actor first, so one user's days are next to each other.
create table actor_counts_daily (
    actor_key       text   not null,
    day             date   not null,
    environment     text   not null,
    organization_id text   not null,
    app_id          text   not null,
    type            text   not null,
    category        text   not null,
    outcome         text   not null,
    events          bigint not null,
    primary key (actor_key, day, environment, organization_id, app_id, type, category, outcome)
);

insert into actor_counts_daily (actor_key, day, environment, organization_id, app_id, type, category, outcome, events)
select actor_key, (occurred_at at time zone 'UTC')::date, environment, organization_id,
       coalesce(app_id, ''), type, category, outcome, count(*)
from events
where actor_key is not null
group by 1, 2, 3, 4, 5, 6, 7, 8;

-- Counts per quarter hour, for the default view (24 hours in 15-minute bars),
-- which counted a weekday's ≈140 000 events one by one (≈130 ms on a 2-core
-- machine), and ≈70 000 for its two most common types. In full (≈100 quarter
-- hours × a few hundred rows), with covering indexes for one type, app or
-- unusual outcome, and coarse (≈100 × 45 rows) for no such filter.
create table event_counts_quarter (
    quarter         timestamptz not null,
    environment     text        not null,
    organization_id text        not null,
    app_id          text        not null,
    type            text        not null,
    category        text        not null,
    outcome         text        not null,
    events          bigint      not null,
    primary key (quarter, environment, organization_id, app_id, type, category, outcome)
);

insert into event_counts_quarter (quarter, environment, organization_id, app_id, type, category, outcome, events)
select date_bin('15 minutes', occurred_at, timestamptz '1970-01-01 00:00:00+00'), environment, organization_id,
       coalesce(app_id, ''), type, category, outcome, count(*)
from events
group by 1, 2, 3, 4, 5, 6, 7;

create index event_counts_quarter_type_idx on event_counts_quarter (type, quarter) include (environment, category, events);
create index event_counts_quarter_app_idx on event_counts_quarter (app_id, quarter) include (environment, category, events);
create index event_counts_quarter_unusual_outcome_idx on event_counts_quarter (outcome, quarter)
    include (environment, category, events) where outcome <> 'success';

create table event_counts_quarter_coarse (
    quarter         timestamptz not null,
    environment     text        not null,
    organization_id text        not null,
    category        text        not null,
    events          bigint      not null,
    primary key (quarter, environment, organization_id, category)
);

insert into event_counts_quarter_coarse (quarter, environment, organization_id, category, events)
select quarter, environment, organization_id, category, sum(events)
from event_counts_quarter
group by 1, 2, 3, 4;
