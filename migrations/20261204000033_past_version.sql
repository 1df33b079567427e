-- The version of the counts before the current UTC hour (was: day): the
-- deriving worker bumps it when it derives events of an earlier hour, retention
-- when it drops a month. Reads over past hours and days (the explorer's chart
-- and option lists, the compare page) are kept until it moves.
alter table ledger_positions rename column past_days_version to past_version;
