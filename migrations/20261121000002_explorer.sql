-- What the explorer needs: per-dimension indexes (time last, for newest-first
-- paging under a filter), free-text search, an hourly rollup for the activity
-- chart and the option lists, and the names of organizations, apps and actors.

create extension if not exists pg_trgm;

create index events_org_time_idx on events (organization_id, occurred_at desc, id desc);
create index events_actor_id_time_idx on events (actor_id, occurred_at desc, id desc);
create index events_actor_email_time_idx on events (actor_email, occurred_at desc, id desc);
create index events_actor_name_time_idx on events (actor_name, occurred_at desc, id desc);
create index events_app_time_idx on events (app_id, occurred_at desc, id desc);
create index events_type_time_idx on events (type, occurred_at desc, id desc);
create index events_target_time_idx on events (target_id, occurred_at desc, id desc);
create index events_ip_time_idx on events (client_ip, occurred_at desc, id desc);
create index events_unusual_outcome_time_idx on events (outcome, occurred_at desc, id desc)
    where outcome <> 'success';
create index events_session_idx on events (actor_session_id, occurred_at)
    where actor_session_id is not null;
create index events_request_idx on events (request_id) where request_id is not null;

-- The text that free-text search looks in: actor, target, type, path, reason, IP.
create function vigil_event_text(
    actor_name text, actor_email text, actor_id text, type text, target_name text,
    target_id text, request_path text, reason text, client_ip inet
) returns text language sql immutable parallel safe as $$
    select coalesce(actor_name, '') || ' ' || coalesce(actor_email, '') || ' ' ||
           coalesce(actor_id, '') || ' ' || type || ' ' || coalesce(target_name, '') || ' ' ||
           coalesce(target_id, '') || ' ' || coalesce(request_path, '') || ' ' ||
           coalesce(reason, '') || ' ' || coalesce(host(client_ip), '')
$$;

create index events_text_idx on events using gin (
    vigil_event_text(actor_name, actor_email, actor_id, type, target_name, target_id,
                     request_path, reason, client_ip) gin_trgm_ops
);

-- Events per hour and dimension, maintained in the same statement as the insert.
create table event_counts (
    hour            timestamptz not null,
    environment     text        not null,
    organization_id text        not null,
    app_id          text        not null default '',
    type            text        not null,
    category        text        not null,
    outcome         text        not null,
    events          bigint      not null,
    primary key (hour, environment, organization_id, app_id, type, category, outcome)
);
create index event_counts_type_idx on event_counts (type, hour);
create index event_counts_app_idx on event_counts (app_id, hour);

-- Display names, last one wins: kind is 'organization', 'app' or 'actor'.
create table names (
    kind      text        not null,
    id        text        not null,
    name      text,
    email     text,
    last_seen timestamptz not null,
    primary key (kind, id)
);
