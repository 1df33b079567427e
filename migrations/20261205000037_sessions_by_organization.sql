-- The Sessions page of one organization (a filter, or the scope of a viewer
-- who sees one organization) read the index by last seen until its map had
-- its 10 000 newest sessions: at 10 M demo events a fifth of a week's
-- sessions are one organization's, so 50 000 entries (13–25 ms of the page).
-- By organization first, the map reads its 10 000 (and with `= any(…)`, a
-- scope, sorts the organization's week). It carries what the map and the
-- filters read, as the index by last seen does (migration 30).
create index sessions_organization_last_seen_idx on sessions (organization_id, last_seen desc)
    include (environment, ended_at, country_code, device_type, latitude, longitude, city, flags);
