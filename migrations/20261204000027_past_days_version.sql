-- How many times the counts of a UTC day before the current one changed:
-- the deriving worker bumps it when it derives events of an earlier day (late
-- events, a backfill), retention when it drops a month. Reads over past days
-- (the explorer's option lists) are kept until it moves.
alter table ledger_positions add column past_days_version bigint not null default 0;
