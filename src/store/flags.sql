-- Session flags, computed in event-time order per user: a session is compared
-- with the same user's earlier sessions in its environment and organization,
-- whatever order they arrived in. The sessions a run of batches touched, and
-- every later session of the same users, are computed again ($1 environments,
-- $2 organizations, $3 users, $4 the earliest start touched per user).
-- Flags: a country or a device not seen before, and travel faster than an
-- airliner (over 900 km/h across more than 500 km) since the previous session.
-- One pass over each touched user's sessions in time order (window functions),
-- not a look back through the earlier sessions per session: a user with
-- thousands of sessions costs thousands of rows, not millions.
with touched as (
    select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
        as t(environment, organization_id, user_key, since)
),
history as (
    select s.environment, s.organization_id, s.user_key, s.session_id, s.started_at,
           s.country_code, s.device_key, s.latitude, s.longitude, t.since
    from touched t
    join sessions s on (s.environment, s.organization_id, s.user_key) = (t.environment, t.organization_id, t.user_key)
),
seen as (
    -- When the user was first seen with any country (device), and with this
    -- one; and the time and place of the latest earlier session that had a
    -- place (the greatest of [epoch, latitude, longitude] before this one).
    select h.*,
           min(started_at) filter (where country_code is not null) over by_user as any_country_since,
           min(started_at) over (partition by environment, organization_id, user_key, country_code) as this_country_since,
           min(started_at) filter (where device_key is not null) over by_user as any_device_since,
           min(started_at) over (partition by environment, organization_id, user_key, device_key) as this_device_since,
           max(array[extract(epoch from started_at)::float8, latitude, longitude])
               filter (where latitude is not null and longitude is not null) over earlier as previous
    from history h
    window by_user as (partition by environment, organization_id, user_key),
           earlier as (by_user order by started_at range between unbounded preceding and '1 microsecond' preceding)
),
computed as (
    select environment, organization_id, session_id, array_remove(array[
        case when country_code is not null and any_country_since < started_at and this_country_since = started_at
             then 'new_country' end,
        case when device_key is not null and any_device_since < started_at and this_device_since = started_at
             then 'new_device' end,
        case when vigil_distance_km(previous[2], previous[3], latitude, longitude) > 500
              and vigil_distance_km(previous[2], previous[3], latitude, longitude)
                  / greatest((extract(epoch from started_at)::float8 - previous[1]) / 3600, 0.001) > 900
             then 'impossible_travel' end
    ], null) as flags
    from seen
    where started_at >= since
)
update sessions s set flags = c.flags
from computed c
where (s.environment, s.organization_id, s.session_id) = (c.environment, c.organization_id, c.session_id)
  and s.flags is distinct from c.flags
