-- Session flags, computed in event-time order per user: a session is compared
-- with the same user's earlier sessions in its environment and organization,
-- whatever order they arrived in. The sessions a run of batches touched, and
-- every later session of the same users, are computed again ($1 environments,
-- $2 organizations, $3 users, $4 the earliest start touched per user).
-- Flags: a country or a device not seen before, and travel faster than an
-- airliner (over 900 km/h across more than 500 km) since the previous session.
-- One pass in time order (window functions) over the sessions to compute,
-- seeded per user by a few index probes into the earlier ones: a step costs
-- the sessions it recomputes, not a look back through a user's whole history
-- per session.
with touched as (
    select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
        as t(environment, organization_id, user_key, since)
),
before as materialized (
    -- Per user, what the sessions before `since` tell: whether any had a
    -- country (device), and the time and place of the latest with a place.
    select t.*,
           exists (select 1 from sessions p
                   where (p.environment, p.organization_id, p.user_key) = (t.environment, t.organization_id, t.user_key)
                     and p.started_at < t.since and p.country_code is not null) as had_country,
           exists (select 1 from sessions p
                   where (p.environment, p.organization_id, p.user_key) = (t.environment, t.organization_id, t.user_key)
                     and p.started_at < t.since and p.device_key is not null) as had_device,
           (select array[extract(epoch from p.started_at)::float8, p.latitude, p.longitude] from sessions p
            where (p.environment, p.organization_id, p.user_key) = (t.environment, t.organization_id, t.user_key)
              and p.started_at < t.since and p.latitude is not null and p.longitude is not null
            order by p.started_at desc, p.latitude desc, p.longitude desc limit 1) as place
    from touched t
),
fresh as (
    select s.environment, s.organization_id, s.user_key, s.session_id, s.started_at, s.country_code,
           s.device_key, s.latitude, s.longitude, b.since, b.had_country, b.had_device, b.place
    from before b
    join sessions s on (s.environment, s.organization_id, s.user_key) = (b.environment, b.organization_id, b.user_key)
                   and s.started_at >= b.since
),
seen as (
    -- Among the sessions to compute: when the user was first seen with any
    -- country (device) and with this one, and the time and place of the latest
    -- earlier session that had a place (the greatest [epoch, latitude,
    -- longitude], so a tie in time is broken the same way in any arrival order).
    select f.*,
           min(started_at) filter (where country_code is not null) over by_user as any_country_since,
           min(started_at) over (partition by environment, organization_id, user_key, country_code) as this_country_since,
           min(started_at) filter (where device_key is not null) over by_user as any_device_since,
           min(started_at) over (partition by environment, organization_id, user_key, device_key) as this_device_since,
           greatest(place, max(array[extract(epoch from started_at)::float8, latitude, longitude])
               filter (where latitude is not null and longitude is not null) over earlier) as previous
    from fresh f
    window by_user as (partition by environment, organization_id, user_key),
           earlier as (by_user order by started_at range between unbounded preceding and '1 microsecond' preceding)
),
computed as (
    select environment, organization_id, session_id, array_remove(array[
        case when country_code is not null and this_country_since = started_at
              and (had_country or any_country_since < started_at)
              and not exists (select 1 from sessions p
                              where (p.environment, p.organization_id, p.user_key, p.country_code) = (seen.environment, seen.organization_id, seen.user_key, seen.country_code)
                                and p.started_at < seen.since)
             then 'new_country' end,
        case when device_key is not null and this_device_since = started_at
              and (had_device or any_device_since < started_at)
              and not exists (select 1 from sessions p
                              where (p.environment, p.organization_id, p.user_key, p.device_key) = (seen.environment, seen.organization_id, seen.user_key, seen.device_key)
                                and p.started_at < seen.since)
             then 'new_device' end,
        case when vigil_distance_km(previous[2], previous[3], latitude, longitude) > 500
              and vigil_distance_km(previous[2], previous[3], latitude, longitude)
                  / greatest((extract(epoch from started_at)::float8 - previous[1]) / 3600, 0.001) > 900
             then 'impossible_travel' end
    ], null) as flags
    from seen
)
update sessions s set flags = c.flags
from computed c
where (s.environment, s.organization_id, s.session_id) = (c.environment, c.organization_id, c.session_id)
  and s.flags is distinct from c.flags
