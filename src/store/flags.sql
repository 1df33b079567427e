-- Session flags, computed in event-time order per user: a session is compared
-- with the same user's earlier sessions in its environment and organization,
-- whatever order they arrived in. The sessions a run of batches touched, and
-- every later session of the same users, are computed again ($1 environments,
-- $2 organizations, $3 users, $4 the earliest start touched per user).
-- Flags: a country or a device not seen before, and travel faster than an
-- airliner (over 900 km/h across more than 500 km) since the previous session.
with touched as (
    select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
        as t(environment, organization_id, user_key, since)
),
fresh as (
    select s.*
    from touched t
    join sessions s on (s.environment, s.organization_id, s.user_key) = (t.environment, t.organization_id, t.user_key)
                   and s.started_at >= t.since
),
computed as (
    select f.environment, f.organization_id, f.session_id, array_remove(array[
        case when f.country_code is not null
              and exists (select 1 from sessions p where (p.environment, p.organization_id, p.user_key) = (f.environment, f.organization_id, f.user_key) and p.started_at < f.started_at and p.country_code is not null)
              and not exists (select 1 from sessions p where (p.environment, p.organization_id, p.user_key) = (f.environment, f.organization_id, f.user_key) and p.started_at < f.started_at and p.country_code = f.country_code)
             then 'new_country' end,
        case when f.device_key is not null
              and exists (select 1 from sessions p where (p.environment, p.organization_id, p.user_key) = (f.environment, f.organization_id, f.user_key) and p.started_at < f.started_at and p.device_key is not null)
              and not exists (select 1 from sessions p where (p.environment, p.organization_id, p.user_key) = (f.environment, f.organization_id, f.user_key) and p.started_at < f.started_at and p.device_key = f.device_key)
             then 'new_device' end,
        case when f.latitude is not null and exists (
                 select 1 from (
                     select p.latitude, p.longitude, p.started_at from sessions p
                     where (p.environment, p.organization_id, p.user_key) = (f.environment, f.organization_id, f.user_key)
                       and p.started_at < f.started_at and p.latitude is not null
                     order by p.started_at desc limit 1
                 ) previous
                 where vigil_distance_km(previous.latitude, previous.longitude, f.latitude, f.longitude) > 500
                   and vigil_distance_km(previous.latitude, previous.longitude, f.latitude, f.longitude)
                       / greatest(extract(epoch from f.started_at - previous.started_at) / 3600, 0.001) > 900)
             then 'impossible_travel' end
    ], null) as flags
    from fresh f
)
update sessions s set flags = c.flags
from computed c
where (s.environment, s.organization_id, s.session_id) = (c.environment, c.organization_id, c.session_id)
  and s.flags is distinct from c.flags
