-- Retention: a period per environment, enforced by dropping whole monthly
-- partitions (never row by row), with a record of every run and archive.

-- Days an environment's events are kept; null: forever. Environments
-- without a row keep VIGIL_RETENTION_DAYS (400 by default).
create table retention_policies (
    environment text        primary key,
    days        integer     check (days is null or days >= 1),
    updated_at  timestamptz not null default now(),
    updated_by  text
);

-- One row per retention run, for purge health.
create table purge_runs (
    id              bigserial   primary key,
    started_at      timestamptz not null,
    finished_at     timestamptz,
    ok              boolean,
    error           text,
    dropped         text[]      not null default '{}',
    bytes_reclaimed bigint      not null default 0,
    created_ahead   text[]      not null default '{}'
);
create index purge_runs_started_idx on purge_runs (started_at desc);

-- What was archived before a drop: the file, its SHA-256 and its row count,
-- checked by reading the file back before the partition was dropped.
create table partition_archives (
    partition   text        primary key,
    range_from  timestamptz not null,
    range_to    timestamptz not null,
    path        text,
    rows        bigint,
    bytes       bigint,
    sha256      text,
    archived_at timestamptz,
    dropped_at  timestamptz,
    error       text
);
