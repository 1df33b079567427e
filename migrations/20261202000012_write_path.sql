-- Write path v2: concurrent writers, a ledger of committed batches, event ids
-- unique per environment and organization, derived data kept by a worker that
-- follows the ledger, and less for every write to maintain.
--
-- Writers no longer take a global lock. Each batch is numbered from
-- `ingest_batch_seq`; its events get the sequence numbers
-- batch_id * 16384 + 0, 1, 2, … (a stored batch holds at most 16 384 events),
-- so the events of one batch are one contiguous range of `seq`. The batch's
-- ledger row is written in the batch's own transaction and carries that
-- transaction's id (`xid`). A reader that must see every event once, in a
-- stable order — the export, the deriving worker — reads ledger rows in
-- (xid, batch_id) order below the watermark pg_snapshot_xmin(pg_current_snapshot()):
-- every transaction below it has ended, so no earlier batch can still appear.

alter table events alter column seq drop default;
drop sequence events_seq;

create sequence ingest_batch_seq as bigint;
select setval('ingest_batch_seq', coalesce((select max(seq) from events), 0) / 16384 + 1);

create table ingest_batches (
    batch_id          bigint      primary key,
    xid               xid8        not null default pg_current_xact_id(),
    seq_from          bigint      not null,
    seq_to            bigint      not null,
    events            integer     not null,
    first_occurred_at timestamptz not null,
    last_occurred_at  timestamptz not null,
    environments      text[]      not null,
    organizations     text[]      not null,
    -- Merkle root (SHA-256) of the stored rows, for tamper evidence.
    root_hash         bytea,
    received_at       timestamptz not null default now(),
    check (seq_from <= seq_to)
);
create unique index ingest_batches_order_idx on ingest_batches (xid, batch_id);
create index ingest_batches_received_idx on ingest_batches (received_at);

-- Events stored before this migration form one batch, already derived.
insert into ingest_batches (batch_id, xid, seq_from, seq_to, events, first_occurred_at,
                            last_occurred_at, environments, organizations, received_at)
select 0, '1'::xid8, min(seq), max(seq), count(*), min(occurred_at), max(occurred_at),
       array_agg(distinct environment), array_agg(distinct organization_id), max(received_at)
from events
having count(*) > 0;

-- Where each follower of the ledger stands: every batch at or before
-- (xid, batch_id) is done. Updated in the same transaction as its work.
create table ledger_positions (
    consumer   text        primary key,
    xid        xid8        not null,
    batch_id   bigint      not null,
    updated_at timestamptz not null default now()
);
insert into ledger_positions (consumer, xid, batch_id) values ('derive', '1', 0);

-- Event ids are unique per environment and organization, not across the
-- store: a key of one environment can neither claim nor probe another's ids.
-- Keyed by the id first, so the detail page finds an event by id alone.
create table event_keys (
    id              text        not null,
    environment     text        not null,
    organization_id text        not null,
    occurred_at     timestamptz not null,
    primary key (id, environment, organization_id)
);
insert into event_keys (id, environment, organization_id, occurred_at)
select id, environment, organization_id, occurred_at from events;
drop table event_ids;
-- The same id may now recur in another environment of an organization.
alter table events drop constraint events_pkey, add primary key (organization_id, occurred_at, id, environment);
alter table event_keys rename to event_ids;
alter index event_keys_pkey rename to event_ids_pkey;

-- Fewer indexes for every write to maintain:
-- * the primary key (organization_id, occurred_at, id) already serves the
--   organization filter, newest first;
-- * free text reads the index of terms (migration 10); a prefix (`upd*`)
--   tests the range's search_text instead of a trigram index. Measured on
--   this machine kind: the trigram index cost a third of the ingest rate
--   (demo loader 10 600 against 16 400 events/s) and its pending-list merges
--   stalled writers for seconds; without it a prefix over the default 24
--   hours takes ≈1 s at 10 M events. Prefixes want an index of their own.
drop index events_org_time_idx;
drop index events_search_text_idx;
-- The per-word quarter-hour counts were 1.7 M rows for 200 000 events, the
-- largest table of the store; a word's chart reads the daily counts, or the
-- index of terms for shorter bars.
drop table term_counts_quarter;

-- Large JSON compresses faster with lz4 than with pglz.
alter table events
    alter column changes set compression lz4,
    alter column request set compression lz4,
    alter column response set compression lz4,
    alter column details set compression lz4,
    alter column client_info set compression lz4;

-- Sessions take their device, place and user from their best event (a sign-in
-- first, then one with an IP, then the earliest), whatever order events arrive
-- in, and are compared only with the same user's sessions in the same
-- environment and organization.
alter table sessions
    add column info_rank     smallint,
    add column info_at       timestamptz,
    add column info_event_id text;
drop index sessions_user_idx;
create index sessions_user_idx on sessions (environment, organization_id, user_key, started_at);
