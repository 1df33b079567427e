-- Availability checks of the services Vigil's users run, and alerts: rules
-- evaluated on the ledger of committed batches (any match), on windows of
-- events (counts) and on the services' states, delivered through channels.

create table services (
    id bigserial primary key,
    name text not null unique,
    environment text not null,
    kind text not null check (kind in ('http', 'tcp', 'dns', 'heartbeat')),
    -- URL (http), host:port (tcp), name (dns); empty for heartbeats.
    target text not null default '',
    http_method text not null default 'GET',
    status_min int not null default 200,
    status_max int not null default 399,
    keyword text,
    expected_address text,
    timeout_ms int not null default 10000 check (timeout_ms between 100 and 60000),
    interval_seconds int not null default 60 check (interval_seconds between 15 and 86400),
    down_after int not null default 3 check (down_after between 1 and 100),
    up_after int not null default 2 check (up_after between 1 and 100),
    -- SHA-256 of the heartbeat token; the token is shown once.
    heartbeat_token_hash bytea unique,
    last_heartbeat_at timestamptz,
    state text not null default 'unknown' check (state in ('unknown', 'up', 'down')),
    state_since timestamptz not null default now(),
    failures_in_row int not null default 0,
    successes_in_row int not null default 0,
    certificate_expires_at timestamptz,
    -- The expiry date a "certificate expiring" event was last raised for.
    certificate_warned_for timestamptz,
    paused boolean not null default false,
    -- The scheduler's lease: when the next run is due, and until when a
    -- claimed run belongs to the instance that claimed it.
    next_run_at timestamptz not null default now(),
    running_until timestamptz,
    created_at timestamptz not null default now(),
    created_by text not null
);
create index services_due_idx on services (next_run_at) where not paused;

create table maintenance_windows (
    id bigserial primary key,
    service_id bigint not null references services on delete cascade,
    starts_at timestamptz not null,
    ends_at timestamptz not null check (ends_at > starts_at),
    note text,
    created_by text not null
);
create index maintenance_windows_service_idx on maintenance_windows (service_id, ends_at);

-- One row per check run, kept `VIGIL_CHECK_RESULTS_DAYS` (monthly partitions).
create table service_results (
    service_id bigint not null,
    checked_at timestamptz not null,
    ok boolean not null,
    latency_ms int,
    status int,
    error text,
    -- How late the run started against its schedule.
    late_ms int not null default 0,
    in_maintenance boolean not null default false
) partition by range (checked_at);
create index service_results_service_idx on service_results (service_id, checked_at desc);

create function vigil_ensure_result_partition(month_start date) returns void
language plpgsql security definer set search_path = public as $$
declare
    first_day date := date_trunc('month', month_start)::date;
    partition_name text := format('service_results_%s', to_char(first_day, 'YYYY_MM'));
begin
    if to_regclass(partition_name) is not null then
        return;
    end if;
    perform pg_advisory_xact_lock(hashtext('vigil_partition'), hashtext(partition_name));
    begin
        execute format(
            'create table %I partition of service_results for values from (%L) to (%L)',
            partition_name,
            (first_day::timestamp at time zone 'UTC'),
            ((first_day + interval '1 month')::timestamp at time zone 'UTC')
        );
    exception when duplicate_table then
        null;
    end;
end;
$$;

create table service_incidents (
    id bigserial primary key,
    service_id bigint not null references services on delete cascade,
    started_at timestamptz not null,
    ended_at timestamptz,
    reason text not null
);
create index service_incidents_service_idx on service_incidents (service_id, started_at desc);
create unique index service_incidents_open_idx on service_incidents (service_id) where ended_at is null;

create table alert_channels (
    id bigserial primary key,
    name text not null unique,
    kind text not null check (kind in ('webhook', 'email')),
    -- The webhook's URL, or the e-mail recipients (comma-separated).
    destination text not null,
    -- HMAC-SHA256 key of a webhook's `Vigil-Signature`.
    secret text,
    created_at timestamptz not null default now(),
    created_by text not null
);

-- The SMTP server e-mail channels send through (one row).
create table smtp_settings (
    singleton boolean primary key default true check (singleton),
    host text not null,
    port int not null check (port between 1 and 65535),
    tls text not null check (tls in ('none', 'starttls', 'tls')),
    username text,
    password text,
    sender text not null,
    updated_at timestamptz not null default now(),
    updated_by text not null
);

create table alert_rules (
    id bigserial primary key,
    name text not null,
    kind text not null check (kind in ('match', 'count', 'service_down', 'certificate')),
    -- The explorer's query string the rule watches (match and count).
    query text not null default '',
    threshold int check (threshold >= 1),
    window_seconds int check (window_seconds between 60 and 604800),
    group_by text check (group_by in ('user', 'ip')),
    -- For service rules: one service, or every service when null.
    service_id bigint references services on delete cascade,
    channel_ids bigint[] not null default '{}',
    renotify_seconds int not null default 3600 check (renotify_seconds >= 60),
    notify_resolved boolean not null default true,
    muted_until timestamptz,
    created_at timestamptz not null default now(),
    created_by text not null
);

-- Each rule's state per group ('' when ungrouped): ok or firing.
create table alert_states (
    rule_id bigint not null references alert_rules on delete cascade,
    group_key text not null default '',
    firing boolean not null,
    since timestamptz not null,
    last_notified_at timestamptz,
    -- Matching events or the count while firing.
    count bigint not null default 0,
    primary key (rule_id, group_key)
);

create table alert_history (
    id bigserial primary key,
    rule_id bigint not null references alert_rules on delete cascade,
    group_key text not null default '',
    kind text not null check (kind in ('firing', 'renotify', 'resolved')),
    at timestamptz not null default now(),
    count bigint not null default 0,
    event_ids text[] not null default '{}',
    summary text not null,
    muted boolean not null default false
);
create index alert_history_rule_idx on alert_history (rule_id, at desc);
create index alert_history_at_idx on alert_history (at desc);

-- The outbox: one row per notification and channel, sent and retried by the
-- delivery worker, never by ingest.
create table alert_deliveries (
    id bigserial primary key,
    history_id bigint not null references alert_history on delete cascade,
    channel_id bigint not null references alert_channels on delete cascade,
    created_at timestamptz not null default now(),
    attempts int not null default 0,
    next_attempt_at timestamptz not null default now(),
    delivered_at timestamptz,
    failed_at timestamptz,
    last_status int,
    last_response text,
    last_error text
);
create index alert_deliveries_due_idx on alert_deliveries (next_attempt_at) where delivered_at is null and failed_at is null;
create index alert_deliveries_channel_idx on alert_deliveries (channel_id, created_at desc);

-- The any-match evaluator follows the ledger from where it stands now: rules
-- watch what arrives after they exist.
insert into ledger_positions (consumer, xid, batch_id)
select 'alerts', coalesce(max(xid::text::int8), 0)::text::xid8,
       coalesce((select batch_id from ingest_batches order by xid desc, batch_id desc limit 1), -1)
from ingest_batches;

grant select, insert, update, delete on services, maintenance_windows, service_results, service_incidents,
    alert_channels, smtp_settings, alert_rules, alert_states, alert_history, alert_deliveries to vigil_app;
grant usage, select, update on all sequences in schema public to vigil_app;

-- Share of a window a service was not down (by its incidents), counted from
-- when it was created; null when the window has not begun.
create function vigil_uptime(service bigint, created timestamptz, window_from timestamptz, window_to timestamptz)
returns float8 language sql stable as $$
    select case when window_to <= greatest(window_from, created) then null else
        1 - coalesce(sum(extract(epoch from least(coalesce(i.ended_at, window_to), window_to)
                                         - greatest(i.started_at, window_from, created))), 0)
            / extract(epoch from window_to - greatest(window_from, created))
    end
    from service_incidents i
    where i.service_id = service and i.started_at < window_to
      and coalesce(i.ended_at, window_to) > greatest(window_from, created)
$$;
