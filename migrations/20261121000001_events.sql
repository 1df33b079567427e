-- The event store. See ../DESIGN.md ("Storage") for the reasoning.
--
-- `events` is range-partitioned by month on `occurred_at`; partitions are created
-- by `vigil_ensure_month_partition`, which the application calls before it writes
-- into a month (and at start-up for the months ahead). The primary key carries the
-- tenant and the partition key so the table can later be distributed by
-- organization. No foreign keys point into or out of `events`.

create sequence events_seq as bigint;

create table events (
    organization_id   text        not null default '',
    occurred_at       timestamptz not null,
    id                text        not null,
    seq               bigint      not null default nextval('events_seq'),
    received_at       timestamptz not null default now(),
    environment       text        not null,
    organization_name text,
    app_id            text,
    app_name          text,
    type              text        not null,
    category          text        not null check (category in ('access', 'change', 'session', 'system')),
    outcome           text        not null check (outcome in ('success', 'failure', 'denied')),
    reason            text,
    actor_type        text        not null,
    actor_id          text,
    actor_name        text,
    actor_email       text,
    actor_role        text,
    actor_session_id  text,
    actor_api_key_id  text,
    target_type       text,
    target_id         text,
    target_name       text,
    changes           jsonb,
    request_id        text,
    request_method    text,
    request_path      text,
    request_status    integer,
    request           jsonb,
    response          jsonb,
    client_ip         inet,
    user_agent        text,
    machine_id        text,
    details           jsonb,
    primary key (organization_id, occurred_at, id)
) partition by range (occurred_at);

-- Newest-first keyset paging: (occurred_at, id) < (cursor) order by both desc.
create index events_time_idx on events (occurred_at desc, id desc);
create index events_environment_time_idx on events (environment, occurred_at desc, id desc);
create index events_seq_idx on events (seq);

-- Idempotency ledger and id lookup: one row per event id, across all partitions.
-- A unique index on `events.id` alone is impossible on a partitioned table, so the
-- insert claims the id here first; it also tells the detail page which partition
-- holds an event.
create table event_ids (
    id              text        primary key,
    organization_id text        not null,
    occurred_at     timestamptz not null
);

create function vigil_ensure_month_partition(month_start date) returns void
language plpgsql as $$
declare
    first_day date := date_trunc('month', month_start)::date;
    partition_name text := format('events_%s', to_char(first_day, 'YYYY_MM'));
begin
    if to_regclass(partition_name) is not null then
        return;
    end if;
    perform pg_advisory_xact_lock(hashtext('vigil_partition'), hashtext(partition_name));
    -- Waiting on an advisory lock does not refresh the catalog snapshot, so a
    -- partition created meanwhile by another session may look absent: creating
    -- it again then fails with duplicate_table, which means it exists.
    begin
        execute format(
            'create table %I partition of events for values from (%L) to (%L)',
            partition_name,
            (first_day::timestamp at time zone 'UTC'),
            ((first_day + interval '1 month')::timestamp at time zone 'UTC')
        );
    exception when duplicate_table then
        null;
    end;
end;
$$;
