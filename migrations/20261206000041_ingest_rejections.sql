-- Items the ingest API refused, from every instance: the newest are kept
-- (store::rejections) to say why a sender's events are missing.
create table ingest_rejections (
    id bigint generated always as identity primary key,
    at timestamptz not null,
    instance text not null,
    key_label text not null,
    address text not null,
    item integer not null,
    field text,
    error text not null
);
