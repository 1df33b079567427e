-- Several instances on one database, and reads from a streaming replica.

-- Where the primary's WAL stood after the session's holder last changed
-- something: their reads stay on the primary until the replica has replayed
-- past it (read-your-own-writes), whichever instance serves them.
alter table console_sessions add column written_lsn pg_lsn;

-- Sign-in attempts per account and address, shared by every instance (a token
-- bucket: `tokens` refill at a fixed rate up to the burst). The key is a
-- SHA-256 of "e-mail address", so what strangers type is not kept.
create table sign_in_attempts (
    attempt     bytea       primary key,
    tokens      float8      not null,
    allowed     boolean     not null,
    updated_at  timestamptz not null default now()
);
create index sign_in_attempts_updated_idx on sign_in_attempts (updated_at);

-- The option values rollup gets the organization, like every other table
-- derived from events: a reader restricted to some organizations reads it
-- too (no longer the hourly counts), and the table can be distributed by
-- organization (README, "Scaling Vigil"). Rebuilt from the daily counts, which
-- the deriving worker keeps in step with it.
drop table event_values;
create table event_values (
    day             date   not null,
    environment     text   not null,
    organization_id text   not null,
    dimension       text   not null,
    value           text   not null,
    events          bigint not null,
    primary key (day, environment, organization_id, dimension, value)
);
insert into event_values (day, environment, organization_id, dimension, value, events)
select day, environment, organization_id, dimension, value, sum(events)
from (
    select day, environment, organization_id, events,
           unnest(array['organization', 'app', 'type', 'category', 'outcome']) as dimension,
           unnest(array[organization_id, app_id, type, category, outcome]) as value
    from event_counts_daily
) v
where value <> ''
group by 1, 2, 3, 4, 5;
