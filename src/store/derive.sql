-- The deriving worker's statement (store::derive): everything derived from
-- the events of a run of ledger batches, given as their sequence ranges
-- ($1 seq_from, $2 seq_to). Quarter-hour counts by type, app and outcome are
-- written from $3 on only (store::retention::QUARTER_COUNTS_DAYS), hourly
-- counts of words (with their quarter hours) from $4 on
-- (retention::TERM_HOURS_DAYS).
-- Counts per quarter hour, hour and day (full and coarse), per actor and day,
-- daily values of each dimension, counts of words per hour (and quarter
-- hour) and day, names and sessions.
-- Upserts are sorted by their keys. Returns, per user whose sessions are new
-- or changed where flags look, the earliest start among them (their flags are
-- computed again from there on).
with ranges as (
    select * from unnest($1::int8[], $2::int8[]) as r(seq_from, seq_to)
),
inserted as materialized (
    select e.id, e.occurred_at, e.environment, e.organization_id, e.organization_name, e.app_id,
           e.app_name, e.type, e.category, e.outcome, e.actor_key, e.actor_id, e.actor_name,
           e.actor_email, e.actor_role, e.actor_session_id, e.client_ip,
           coalesce(e.user_agent, c.user_agent) as user_agent, e.machine_id,
           coalesce(e.client_info, c.client_info) as client_info,
           e.country_code, e.device_type, e.search_text, e.target_type, e.target_id, e.target_name,
           -- Which quarter of its hour, 0 to 3 (once per event, not per word).
           date_part('minute', e.occurred_at at time zone 'UTC')::int4 / 15 as quarter
    from ranges r
    cross join lateral (
        -- The sequence index alone finds a batch (one probe per partition;
        -- its time range may be wide); offset 0 keeps this a lookup per batch.
        select * from events
        where seq between r.seq_from and r.seq_to
        offset 0
    ) e
    -- Each event's client as the view events_with_client reads it, by one
    -- probe of its key (as store::clients::CLIENT_BY_KEY): through the view
    -- PostgreSQL hashed every client (15 000 at 10 M events: 31 ms, for a
    -- step of 20 events).
    left join lateral (
        select c.user_agent, c.client_info from event_clients c
        where c.organization_id = e.organization_id and c.key = e.client_key
        offset 0
    ) c on true
),
per_session as (
    -- A session takes its user, device and place from its best event: a
    -- sign-in first, then one with an IP, then the earliest (then the lowest
    -- id), so it ends up the same whatever order its events arrive in.
    select s.environment, s.organization_id, s.session_id, s.started, s.last, s.ended, s.n, r.*
    from (
        select environment, organization_id, actor_session_id as session_id,
               min(occurred_at) as started, max(occurred_at) as last, count(*) as n,
               max(occurred_at) filter (where type in ('session.sign_out', 'session.end', 'session.revoke', 'session.expire')) as ended
        from inserted where actor_session_id is not null
        group by 1, 2, 3
    ) s
    join (
        select distinct on (environment, organization_id, actor_session_id)
               environment as r_environment, organization_id as r_organization_id, actor_session_id,
               id, occurred_at, organization_name, actor_key, actor_name, actor_email, actor_role,
               client_ip, user_agent, machine_id, client_info, country_code, device_type, info_rank
        from (
            select *, ((type <> 'session.sign_in')::int * 2 + (client_ip is null)::int)::int2 as info_rank
            from inserted where actor_session_id is not null
        ) ranked
        order by environment, organization_id, actor_session_id, info_rank, occurred_at, id
    ) r on (r.r_environment, r.r_organization_id, r.actor_session_id) = (s.environment, s.organization_id, s.session_id)
),
flag_changes as (
    -- Sessions whose flags may change: new ones, and those that now start
    -- earlier or take a better event's device and place. (More events of a
    -- known session change neither.) Read before the upsert below.
    select p.environment, p.organization_id,
           case when o.session_id is null or (p.info_rank, p.occurred_at, p.id) < (coalesce(o.info_rank, 4), o.info_at, o.info_event_id)
                then p.actor_key else o.user_key end as user_key,
           least(p.started, o.started_at) as started_at
    from per_session p
    left join sessions o on (o.environment, o.organization_id, o.session_id) = (p.environment, p.organization_id, p.session_id)
    where o.session_id is null
       or p.started < o.started_at
       or (p.info_rank, p.occurred_at, p.id) < (coalesce(o.info_rank, 4), o.info_at, o.info_event_id)
),
sessioned as (
    insert into sessions (
        environment, organization_id, session_id, organization_name, user_key, user_name,
        user_email, user_role, started_at, last_seen, ended_at, events, ip, user_agent,
        machine_id, client_info, country_code, device_type, device_key, latitude, longitude,
        info_rank, info_at, info_event_id
    )
    select environment, organization_id, session_id, organization_name,
           actor_key, actor_name, actor_email,
           actor_role, started, last, ended, n, client_ip, user_agent,
           machine_id, client_info, country_code, device_type,
           nullif(concat_ws(' | ', device_type, client_info->>'os', client_info->>'browser', machine_id), ''),
           -- A place the sender reported wins over the lookup (both or neither coordinate).
           coalesce(client_info->'reported'->>'latitude', client_info->>'latitude')::float8,
           coalesce(client_info->'reported'->>'longitude', client_info->>'longitude')::float8,
           info_rank, occurred_at, id
    from per_session
    order by 1, 2, 3
    on conflict (environment, organization_id, session_id) do update set
        started_at = least(sessions.started_at, excluded.started_at),
        last_seen = greatest(sessions.last_seen, excluded.last_seen),
        ended_at = greatest(sessions.ended_at, excluded.ended_at),
        events = sessions.events + excluded.events,
        organization_name = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.organization_name else sessions.organization_name end,
        user_key = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.user_key else sessions.user_key end,
        user_name = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.user_name else sessions.user_name end,
        user_email = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.user_email else sessions.user_email end,
        user_role = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.user_role else sessions.user_role end,
        ip = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.ip else sessions.ip end,
        user_agent = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.user_agent else sessions.user_agent end,
        machine_id = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.machine_id else sessions.machine_id end,
        client_info = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.client_info else sessions.client_info end,
        country_code = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.country_code else sessions.country_code end,
        device_type = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.device_type else sessions.device_type end,
        device_key = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.device_key else sessions.device_key end,
        latitude = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.latitude else sessions.latitude end,
        longitude = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.longitude else sessions.longitude end,
        info_rank = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.info_rank else sessions.info_rank end,
        info_at = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.info_at else sessions.info_at end,
        info_event_id = case when (excluded.info_rank, excluded.info_at, excluded.info_event_id) < (coalesce(sessions.info_rank, 4), sessions.info_at, sessions.info_event_id) then excluded.info_event_id else sessions.info_event_id end
),
per_quarter as (
    -- The batch counted once at the finest grain the count rollups share; each
    -- of them sums these few rows up to its own grain and dimensions.
    select date_bin('15 minutes', occurred_at, timestamptz '1970-01-01 00:00:00+00') as quarter,
           environment, organization_id, coalesce(app_id, '') as app_id, type, category, outcome,
           count(*) as events
    from inserted
    group by 1, 2, 3, 4, 5, 6, 7
),
counted_quarter as (
    insert into event_counts_quarter (quarter, environment, organization_id, app_id, type, category, outcome, events)
    select quarter, environment, organization_id, app_id, type, category, outcome, events
    from per_quarter
    where quarter >= $3
    order by 1, 2, 3, 4, 5, 6, 7
    on conflict (quarter, environment, organization_id, app_id, type, category, outcome)
    do update set events = event_counts_quarter.events + excluded.events
),
counted_quarter_coarse as (
    insert into event_counts_quarter_coarse (quarter, environment, organization_id, category, events)
    select quarter, environment, organization_id, category, sum(events)::int8
    from per_quarter
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4
    on conflict (quarter, environment, organization_id, category)
    do update set events = event_counts_quarter_coarse.events + excluded.events
),
counted as (
    insert into event_counts (hour, environment, organization_id, app_id, type, category, outcome, events)
    select date_trunc('hour', quarter, 'UTC'), environment, organization_id, app_id, type, category, outcome, sum(events)::int8
    from per_quarter
    group by 1, 2, 3, 4, 5, 6, 7
    order by 1, 2, 3, 4, 5, 6, 7
    on conflict (hour, environment, organization_id, app_id, type, category, outcome)
    do update set events = event_counts.events + excluded.events
),
counted_coarse as (
    insert into event_counts_coarse (hour, environment, organization_id, category, events)
    select date_trunc('hour', quarter, 'UTC'), environment, organization_id, category, sum(events)::int8
    from per_quarter
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4
    on conflict (hour, environment, organization_id, category)
    do update set events = event_counts_coarse.events + excluded.events
),
per_day as (
    select (quarter at time zone 'UTC')::date as day, environment, organization_id, app_id, type, category, outcome,
           sum(events)::int8 as events
    from per_quarter
    group by 1, 2, 3, 4, 5, 6, 7
),
counted_daily as (
    insert into event_counts_daily (day, environment, organization_id, app_id, type, category, outcome, events)
    select day, environment, organization_id, app_id, type, category, outcome, events
    from per_day
    order by 1, 2, 3, 4, 5, 6, 7
    on conflict (day, environment, organization_id, app_id, type, category, outcome)
    do update set events = event_counts_daily.events + excluded.events
),
counted_daily_coarse as (
    insert into event_counts_daily_coarse (day, environment, organization_id, category, events)
    select day, environment, organization_id, category, sum(events)::int8
    from per_day
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4
    on conflict (day, environment, organization_id, category)
    do update set events = event_counts_daily_coarse.events + excluded.events
),
valued as (
    insert into event_values (day, environment, organization_id, dimension, value, events)
    select day, environment, organization_id, dimension, value, sum(events)::int8
    from (
        select day, environment, organization_id, events,
               unnest(array['organization', 'app', 'type', 'category', 'outcome']) as dimension,
               unnest(array[organization_id, app_id, type, category, outcome]) as value
        from per_day
    ) v
    where value <> ''
    group by 1, 2, 3, 4, 5
    order by 1, 2, 3, 4, 5
    on conflict (day, environment, organization_id, dimension, value)
    do update set events = event_values.events + excluded.events
),
per_term_hourly as (
    -- Single words only (no punctuation), each once per event; migration 10
    -- says why. These are the runs of letters and digits, the first line of
    -- search_text, each there once (store::terms). Per hour, and per quarter
    -- of it (migration 35).
    select term, date_trunc('hour', occurred_at, 'UTC') as hour,
           environment, organization_id, category, count(*) as events,
           array[count(*) filter (where quarter = 0), count(*) filter (where quarter = 1),
                 count(*) filter (where quarter = 2), count(*) filter (where quarter = 3)] as quarters
    from inserted, unnest(string_to_array(split_part(search_text, E'\n', 1), ' ')) as term
    group by 1, 2, 3, 4, 5
),
counted_terms_hourly as (
    insert into term_counts_hourly (term, hour, environment, organization_id, category, events, quarters)
    select term, hour, environment, organization_id, category, events, quarters
    from per_term_hourly
    where hour >= $4
    order by 1, 2, 3, 4, 5
    on conflict (term, hour, environment, organization_id, category)
    do update set events = term_counts_hourly.events + excluded.events,
                  quarters = array[term_counts_hourly.quarters[1] + excluded.quarters[1],
                                   term_counts_hourly.quarters[2] + excluded.quarters[2],
                                   term_counts_hourly.quarters[3] + excluded.quarters[3],
                                   term_counts_hourly.quarters[4] + excluded.quarters[4]]
),
per_term_daily as (
    select term, (hour at time zone 'UTC')::date as day, environment, organization_id, category,
           sum(events)::int8 as events
    from per_term_hourly
    group by 1, 2, 3, 4, 5
),
counted_terms_daily as (
    insert into term_counts_daily (term, day, environment, organization_id, category, events)
    select term, day, environment, organization_id, category, events
    from per_term_daily
    order by 1, 2, 3, 4, 5
    on conflict (term, day, environment, organization_id, category)
    do update set events = term_counts_daily.events + excluded.events
),
counted_per_actor as (
    insert into actor_counts_daily (actor_key, day, environment, organization_id, app_id, type, category, outcome, events)
    select actor_key, (occurred_at at time zone 'UTC')::date, environment, organization_id,
           coalesce(app_id, ''), type, category, outcome, count(*)
    from inserted
    where actor_key is not null
    group by 1, 2, 3, 4, 5, 6, 7, 8
    order by 1, 2, 3, 4, 5, 6, 7, 8
    on conflict (actor_key, day, environment, organization_id, app_id, type, category, outcome)
    do update set events = actor_counts_daily.events + excluded.events
),
named as (
    insert into names (environment, organization_id, kind, id, name, email, last_seen)
    -- Hashed down to each name's latest sighting first: a step mentions a few
    -- hundred names in tens of thousands of rows, and sorting those rows was
    -- most of this part's cost.
    select distinct on (environment, organization_id, kind, id)
           environment, organization_id, kind, id, name, email, seen
    from (
        select environment, organization_id, kind, id, name, email, max(seen) as seen
        from (
            select environment, organization_id, 'organization' as kind, organization_id as id,
                   organization_name as name, null::text as email, occurred_at as seen
            from inserted where organization_id <> ''
            union all
            select environment, organization_id, 'app', app_id, app_name, null, occurred_at
            from inserted where app_id is not null
            union all
            select environment, organization_id, 'actor', actor_key, actor_name, actor_email, occurred_at
            from inserted where actor_key is not null
            union all
            select environment, organization_id, 'target:' || target_type, target_id, target_name, null, occurred_at
            from inserted where target_type is not null and target_id is not null
        ) mentioned
        group by 1, 2, 3, 4, 5, 6
    ) sightings
    order by environment, organization_id, kind, id, seen desc
    on conflict (environment, organization_id, kind, id) do update set
        name = case when excluded.last_seen >= names.last_seen
                    then coalesce(excluded.name, names.name) else names.name end,
        email = case when excluded.last_seen >= names.last_seen
                     then coalesce(excluded.email, names.email) else names.email end,
        last_seen = greatest(names.last_seen, excluded.last_seen)
)
select coalesce(array_agg(environment), '{}') as environments,
       coalesce(array_agg(organization_id), '{}') as organizations,
       coalesce(array_agg(user_key), '{}') as users,
       coalesce(array_agg(started_at), '{}') as since
from (
    select environment, organization_id, user_key, min(started_at) as started_at
    from flag_changes
    group by 1, 2, 3
) touched
