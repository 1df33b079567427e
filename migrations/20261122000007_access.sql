-- Access control: console users, API keys, and the console's sign-in sessions.
-- (tower-sessions keeps its own table, `tower_sessions.session`, created by its store.)

create table console_users (
    id                  bigserial   primary key,
    email               text        not null unique check (email = lower(email) and email <> ''),
    password_hash       text        not null,
    role                text        not null check (role in ('admin', 'auditor', 'viewer')),
    -- A viewer sees events of these environments / organizations only (empty: any).
    environments        text[]      not null default '{}',
    organizations       text[]      not null default '{}',
    disabled            boolean     not null default false,
    created_at          timestamptz not null default now(),
    last_sign_in_at     timestamptz
);

-- Bearer keys for the HTTP API. Only a SHA-256 of the key is kept; `prefix`
-- (its first characters) lets people recognise a key they hold.
create table api_keys (
    id             bigserial   primary key,
    name           text        not null,
    kind           text        not null check (kind in ('ingest', 'export')),
    prefix         text        not null,
    key_hash       text        not null unique,
    -- Ingest keys: exactly one environment they may write to.
    -- Export keys: the environments / organizations they may read (empty: any).
    environments   text[]      not null default '{}',
    organizations  text[]      not null default '{}',
    created_by     text        not null,
    created_at     timestamptz not null default now(),
    last_used_at   timestamptz,
    revoked_at     timestamptz,
    revoked_by     text,
    check (kind <> 'ingest' or cardinality(environments) = 1)
);

-- One row per console sign-in. The tower-sessions record holds only this id;
-- revoking or expiring the row signs the browser out on its next request.
create table console_sessions (
    id            text        primary key,
    user_id       bigint      not null references console_users (id),
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    expires_at    timestamptz not null,
    ip            inet,
    user_agent    text,
    client_info   jsonb,
    revoked_at    timestamptz,
    revoked_by    text
);
create index console_sessions_user_idx on console_sessions (user_id);
create index console_sessions_live_idx on console_sessions (last_seen_at desc) where revoked_at is null;
