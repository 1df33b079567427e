-- The role Vigil's request path and workers act as: `vigil_app`. It reads and
-- writes what it needs, but cannot UPDATE, DELETE or TRUNCATE the events, their
-- ids, the ledger, the chain or the checkpoints. The role that logs in (the
-- owner of the schema) runs migrations and retention — the only drops — and
-- every pooled connection of the server takes on `vigil_app` at its start
-- (`role` startup option; see `state::APP_ROLE`).
do $$
begin
    if not exists (select from pg_roles where rolname = 'vigil_app') then
        create role vigil_app nologin;
    end if;
exception when duplicate_object or unique_violation then
    null; -- created meanwhile by another database's migration in this cluster
end
$$;

-- The login role may act as vigil_app (a superuser always may).
do $$
begin
    if not exists (select from pg_auth_members m join pg_roles r on r.oid = m.roleid
                   where r.rolname = 'vigil_app' and m.member = (select oid from pg_roles where rolname = current_user)) then
        execute format('grant vigil_app to %I', current_user);
    end if;
end
$$;

grant usage on schema public to vigil_app;
grant select, insert, update, delete on all tables in schema public to vigil_app;
grant usage, select, update on all sequences in schema public to vigil_app;
alter default privileges in schema public grant select, insert, update, delete on tables to vigil_app;
alter default privileges in schema public grant usage, select, update on sequences to vigil_app;

-- What must only grow.
revoke update, delete, truncate on events, event_ids, ingest_batches, seal_chain, seal_checkpoints from vigil_app;
-- The sealer fills in the roots of batches stored before sealing existed.
grant update (root_hash) on ingest_batches to vigil_app;

-- Partitions are created by the owner, whoever asks, so that vigil_app owns
-- none of them (an owner could alter its own table).
alter function vigil_ensure_month_partition(date) security definer set search_path = public;

-- Seeing which transaction holds the ledger's watermark needs other sessions'
-- transaction ids. Granting it needs a superuser (or that role's admin): without
-- it, the health page shows no holder.
do $$
begin
    grant pg_read_all_stats to vigil_app;
exception when insufficient_privilege then
    raise warning 'vigil_app cannot be granted pg_read_all_stats: the watermark holder will not be shown';
end
$$;
