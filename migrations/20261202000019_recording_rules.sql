-- Recording rules: what is not recorded. Applied at ingest, before storage,
-- first matching rule (lowest position) wins. Each field is a pattern where
-- `*` matches any text; an absent outcome means "success only": failures and
-- denials are dropped only by a rule that names them.
create table recording_rules (
    id           bigserial   primary key,
    position     integer     not null default 0,
    environment  text        not null default '*',
    organization text        not null default '*',
    app          text        not null default '*',
    event_type   text        not null default '*',
    outcome      text        check (outcome in ('success', 'failure', 'denied')),
    action       text        not null check (action in ('drop', 'sample')),
    -- For `sample`: one event in this many is kept (chosen by event id).
    keep_one_in  integer     check (keep_one_in >= 2),
    note         text,
    created_at   timestamptz not null default now(),
    created_by   text        not null,
    check ((action = 'sample') = (keep_one_in is not null))
);

-- Events each rule dropped, per day.
create table recording_rule_counts (
    rule_id bigint not null references recording_rules (id) on delete cascade,
    day     date   not null,
    dropped bigint not null,
    primary key (rule_id, day)
);
