-- Comparing environments and saved views.

-- Targets join the names the deriving worker keeps (kind `target:<type>`), so
-- "seen only in staging" and the list of a type's targets per environment
-- read a small table instead of the events.
insert into names (environment, organization_id, kind, id, name, email, last_seen)
select distinct on (environment, organization_id, target_type, target_id)
       environment, organization_id, 'target:' || target_type, target_id, target_name, null, occurred_at
from events
where target_type is not null and target_id is not null
order by environment, organization_id, target_type, target_id, occurred_at desc
on conflict (environment, organization_id, kind, id) do update set
    name = coalesce(excluded.name, names.name),
    last_seen = greatest(names.last_seen, excluded.last_seen);

-- The latest state of a type's targets is folded from their change events,
-- newest first; few events carry changes, so the index is small.
create index events_changes_idx on events (target_type, occurred_at desc) where changes is not null;

-- A named explorer or compare URL. Private to its owner unless shared (by an
-- admin); the query is kept as typed, so a relative range stays relative.
create table saved_views (
    id          bigserial   primary key,
    owner_id    bigint      not null references console_users (id) on delete cascade,
    name        text        not null check (length(name) between 1 and 100),
    path        text        not null check (path in ('/events', '/compare')),
    query       text        not null check (length(query) <= 4000),
    shared      boolean     not null default false,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    unique (owner_id, name)
);
create index saved_views_shared_idx on saved_views (name) where shared;

-- Where `/` takes a user: one of the views they can open, or the explorer.
alter table console_users add column default_view bigint references saved_views (id) on delete set null;

grant select, insert, update, delete on saved_views to vigil_app;
grant usage, select, update on all sequences in schema public to vigil_app;

-- The time zone a user reads times in (an IANA name); null: the browser's.
alter table console_users add column time_zone text check (time_zone ~ '^[A-Za-z0-9_+/-]{1,64}$');
