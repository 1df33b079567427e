-- Tamper evidence (see src/integrity/ and the README's "Retention and integrity").
--
-- Every stored event has a leaf: the SHA-256 of its canonical form (RFC 8785
-- JSON of its stored fields, `store::seal::Canonical`), kept beside it so that
-- a verifier can name the one event that was edited. A batch's root (in its
-- ledger row) is built from its leaves month by month, so that a retention
-- drop of one month can record that month's part and leave the rest of the
-- batch verifiable. The roots written before this migration hashed another
-- form; the sealer recomputes them from the stored rows.
alter table events add column leaf bytea;
update ingest_batches set root_hash = null;

-- The chain: one entry per sealed batch or retention drop, in ledger order.
-- head = SHA-256(previous head ‖ kind ‖ id ‖ count ‖ root).
create table seal_chain (
    position     bigint      primary key,
    kind         text        not null check (kind in ('batch', 'prune')),
    -- The batch's id, or -1 for a drop.
    batch_id     bigint      not null,
    events       bigint      not null,
    root         bytea       not null,
    head         bytea       not null,
    -- Events sealed in batches so far, this entry included.
    total_events bigint      not null,
    -- A drop's record (partition, range, per-batch parts) and its signature.
    prune        jsonb,
    signature    bytea,
    sealed_at    timestamptz not null default now()
);
create index seal_chain_batch_idx on seal_chain (batch_id) where kind = 'batch';

-- Signed statements of the chain's head, also appended to a file outside the
-- database (VIGIL_CHECKPOINT_LOG).
create table seal_checkpoints (
    number       bigserial   primary key,
    position     bigint      not null,
    total_events bigint      not null,
    head         bytea       not null,
    signed_at    timestamptz not null,
    signature    bytea       not null,
    public_key   text        not null
);

-- The sealer follows the ledger from its start.
insert into ledger_positions (consumer, xid, batch_id) values ('seal', '0', -1);
