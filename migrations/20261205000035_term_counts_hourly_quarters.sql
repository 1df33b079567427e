-- The hourly counts of words count each quarter of their hour too: a chart of
-- one word over the last 24 hours (bars of 15 minutes) counted every match
-- from the events, ≈12 000 of them for `support` at 10 M events (55–65 ms;
-- over 100 ms on a day of 400 000 events), reading most of the day's heap
-- pages; from these rows it reads the hourly ones, ≈1 500. Four counts in the
-- row the hour has anyway, rather than rows of their own: a table per
-- quarter hour took 3.3 rows per event (deriving 40 % slower).
-- `quarters[k]` counts the events of minutes 15(k-1) to 15k of `hour`.
--
-- The rows are counted again from the events kept for them, as in migration
-- 34: with the deriving worker's lock ("vigildrv", store::derive), leaving
-- out the batches it has not reached (it counts those itself).
select pg_advisory_xact_lock(8532464671517864566);

truncate term_counts_hourly;
alter table term_counts_hourly add column quarters int8[] not null;

insert into term_counts_hourly (term, hour, environment, organization_id, category, events, quarters)
select term, date_trunc('hour', e.occurred_at, 'UTC'), e.environment, e.organization_id, e.category, count(*),
       array[count(*) filter (where q.quarter = 0), count(*) filter (where q.quarter = 1),
             count(*) filter (where q.quarter = 2), count(*) filter (where q.quarter = 3)]
from events e,
     lateral (select date_part('minute', e.occurred_at at time zone 'UTC')::int4 / 15 as quarter) q,
     unnest(string_to_array(split_part(e.search_text, E'\n', 1), ' ')) as term
where e.occurred_at >= date_trunc('hour', now() - interval '9 days', 'UTC')
  and not exists (
      select from ingest_batches b, ledger_positions p
      where p.consumer = 'derive' and (b.xid, b.batch_id) > (p.xid, p.batch_id)
        and e.seq between b.seq_from and b.seq_to)
group by 1, 2, 3, 4, 5;
