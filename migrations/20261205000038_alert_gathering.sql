-- An any-match rule notifies of its first match at once, then at most once per
-- VIGIL_ALERT_GATHER_SECONDS while matches go on: the matches in between are
-- held here (how many, and the first ten ids) for the next notification.
alter table alert_states
    add column held bigint not null default 0,
    add column held_event_ids text[] not null default '{}';
