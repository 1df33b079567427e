-- An event's client — its user agent and what enrichment found for it (device,
-- browser, operating system, place) — is stored once per organization and
-- month in `event_clients`, and the event keeps a 16-byte key to it
-- (`client_key`): the two took ≈440 bytes of every event row, for a few
-- hundred distinct clients per month. The key is a hash of the month and the
-- client (`store::clients`), so writers need no round trip to allocate one,
-- and a month's clients go with its partition.
--
-- Events stored before this keep their own `user_agent` and `client_info`
-- (nothing is rewritten); readers see both kinds alike through the view
-- `events_with_client`.
create table event_clients (
    organization_id text  not null,
    key             bytea not null,
    month           date  not null,
    user_agent      text,
    client_info     jsonb,
    primary key (organization_id, key)
);
create index event_clients_month_idx on event_clients (month);

alter table events add column client_key bytea;

-- Every column of `events` (but the key), the client's from either place. A
-- query that reads neither client column pays nothing for the join: it is
-- removed (the key is unique).
create view events_with_client as
select e.organization_id, e.occurred_at, e.id, e.seq, e.received_at, e.environment, e.organization_name,
       e.app_id, e.app_name, e.type, e.category, e.outcome, e.reason, e.actor_type, e.actor_id,
       e.actor_name, e.actor_email, e.actor_role, e.actor_session_id, e.actor_api_key_id,
       e.target_type, e.target_id, e.target_name, e.changes, e.request_id, e.request_method,
       e.request_path, e.request_status, e.request, e.response, e.client_ip,
       coalesce(e.user_agent, c.user_agent) as user_agent, e.machine_id, e.details,
       coalesce(e.client_info, c.client_info) as client_info, e.country_code, e.device_type,
       e.actor_key, e.search_text, e.leaf
from events e
left join event_clients c on c.organization_id = e.organization_id and c.key = e.client_key;

-- Like the events, their clients only grow (retention, as the owner, deletes a month's).
revoke update, delete, truncate on event_clients from vigil_app;
