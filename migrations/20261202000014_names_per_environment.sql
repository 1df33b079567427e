-- Display names are kept per environment and organization, so that a sender in
-- one environment can neither rename the actors, apps and organizations of
-- another nor change whom a user search finds there. Rebuilt from the events:
-- the latest non-empty name and e-mail of each key, where it was last seen.
drop table names;
create table names (
    environment     text        not null,
    organization_id text        not null,
    kind            text        not null,
    id              text        not null,
    name            text,
    email           text,
    last_seen       timestamptz not null,
    primary key (environment, organization_id, kind, id)
);

insert into names (environment, organization_id, kind, id, name, email, last_seen)
select environment, organization_id, kind, id,
       (array_agg(name order by seen desc) filter (where name is not null))[1],
       (array_agg(email order by seen desc) filter (where email is not null))[1],
       max(seen)
from (
    select environment, organization_id, 'organization' as kind, organization_id as id,
           organization_name as name, null::text as email, occurred_at as seen
    from events where organization_id <> ''
    union all
    select environment, organization_id, 'app', app_id, app_name, null, occurred_at
    from events where app_id is not null
    union all
    select environment, organization_id, 'actor', actor_key, actor_name, actor_email, occurred_at
    from events where actor_key is not null
) mentioned
group by 1, 2, 3, 4;

create index names_actor_email_idx on names (email) where kind = 'actor';
create index names_actor_name_idx on names (name) where kind = 'actor';
create index names_kind_id_idx on names (kind, id);
create index names_actor_last_seen_idx on names (last_seen desc) where kind = 'actor';
