-- Smaller rollups for long ranges, filled from the same insert statement:
-- the values of each dimension per day and environment (the filter bar's option
-- lists) and counts per hour by environment, organization and category (the
-- activity chart when no app, type or outcome is chosen). Backfilled from
-- event_counts.

create table event_values (
    day         date   not null,
    environment text   not null,
    dimension   text   not null,
    value       text   not null,
    events      bigint not null,
    primary key (day, environment, dimension, value)
);

insert into event_values (day, environment, dimension, value, events)
select day, environment, dimension, value, sum(events)
from (
    select (hour at time zone 'UTC')::date as day, environment, events,
           unnest(array['organization', 'app', 'type', 'category', 'outcome']) as dimension,
           unnest(array[organization_id, app_id, type, category, outcome]) as value
    from event_counts
) v
where value <> ''
group by 1, 2, 3, 4;

create table event_counts_coarse (
    hour            timestamptz not null,
    environment     text        not null,
    organization_id text        not null,
    category        text        not null,
    events          bigint      not null,
    primary key (hour, environment, organization_id, category)
);

insert into event_counts_coarse (hour, environment, organization_id, category, events)
select hour, environment, organization_id, category, sum(events)
from event_counts
group by 1, 2, 3, 4;

create index event_counts_unusual_outcome_idx on event_counts (outcome, hour) where outcome <> 'success';
