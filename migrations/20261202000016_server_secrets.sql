-- Secrets Vigil generates for itself on the first start (the token signer's,
-- when VIGIL_SECRET is not set), shared by every instance.
create table server_secrets (
    name       text        primary key,
    value      text        not null,
    created_at timestamptz not null default now()
);
