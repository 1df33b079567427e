-- A closed month's indexes are rebuilt once (lifecycle::compact).
--
-- Events arrive in no particular order within a month, and most of the
-- indexes of `events` are (column, occurred_at desc, id desc): each new event
-- lands in the middle of its column's run of entries, so leaf pages split in
-- halves and stay half full. Measured here on 1 M demo events over 90 days:
-- the btree leaves of a month were 51–55 % full; rebuilt, 90 %, and the
-- month's indexes took 337 MB instead of 541 (≈ 590 bytes less per event).
-- Once a month has ended few events still arrive for it, so the retention job
-- rebuilds its indexes (REINDEX CONCURRENTLY: reads and writes go on) and
-- notes it here; a month that has grown by more than a tenth since is rebuilt
-- again. The id ledger's and the rollups' indexes, which fill the same way,
-- are rebuilt with each month's (1 056 MB → 800 MB on the same data).
create table partition_compactions (
    partition    text        primary key,
    compacted_at timestamptz not null,
    -- The planner's estimate of the partition's rows right after the rebuild.
    rows         bigint      not null,
    bytes_before bigint      not null,
    bytes_after  bigint      not null
);

alter table purge_runs
    add column compacted       text[] not null default '{}',
    add column bytes_compacted bigint not null default 0;
