-- Enrichment stored with each event, and the sessions it maintains.

alter table events
    add column client_info  jsonb,
    add column country_code text,
    add column device_type  text;

-- One row per (environment, organization, session id) seen in events, kept up
-- to date in the same transaction as the insert of the events.
create table sessions (
    environment       text        not null,
    organization_id   text        not null,
    session_id        text        not null,
    organization_name text,
    user_key          text        not null,
    user_name         text,
    user_email        text,
    user_role         text,
    started_at        timestamptz not null,
    last_seen         timestamptz not null,
    ended_at          timestamptz,
    events            bigint      not null,
    ip                inet,
    user_agent        text,
    machine_id        text,
    client_info       jsonb,
    country_code      text,
    device_type       text,
    device_key        text,
    latitude          double precision,
    longitude         double precision,
    -- new_country, new_device, impossible_travel; null until computed.
    flags             text[],
    primary key (environment, organization_id, session_id)
);
create index sessions_last_seen_idx on sessions (last_seen desc);
create index sessions_user_idx on sessions (user_key, started_at);

-- Great-circle distance in kilometres.
create function vigil_distance_km(lat1 float8, lon1 float8, lat2 float8, lon2 float8)
returns float8 language sql immutable parallel safe as $$
    select 2 * 6371 * asin(sqrt(
        power(sin(radians(lat2 - lat1) / 2), 2) +
        cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2)
    ))
$$;
create index sessions_unflagged_idx on sessions (session_id) where flags is null;
