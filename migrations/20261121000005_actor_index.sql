-- One index for the user filter instead of three: events by actor key (id, else
-- e-mail, else name — the key `names` holds), newest first, carrying what the
-- chart groups by so that a user's histogram is an index-only scan.

drop index events_actor_id_time_idx;
drop index events_actor_email_time_idx;
drop index events_actor_name_time_idx;

create index events_actor_time_idx on events
    (coalesce(actor_id, actor_email, actor_name), occurred_at desc, id desc)
    include (type, environment, category);

create index names_actor_email_idx on names (email) where kind = 'actor';
create index names_actor_name_idx on names (name) where kind = 'actor';
