-- Counts of words per hour, for the last few days only
-- (store::retention::TERM_HOURS_DAYS): a chart of one word over the last 7
-- days (3-hour bars) counted every match from the events, ≈55 000 of them for
-- `support` at 10 M events, 120–220 ms; from these rows it reads a few
-- thousand. Per hour a word is counted by environment, organization and
-- category, as per day (term_counts_daily): ≈1.2 rows per event at a hundred
-- thousand events a day, ≈270 bytes per event while kept, so they are kept
-- for days, not months. The deriving worker writes an event's words here
-- when its hour is that recent (store::derive, $4); the retention run deletes
-- older rows (retention::thin_recent_counts).
create table term_counts_hourly (
    term            text        not null,
    hour            timestamptz not null,
    environment     text        not null,
    organization_id text        not null,
    category        text        not null,
    events          bigint      not null,
    primary key (term, hour, environment, organization_id, category) include (events)
);

-- The events already derived, counted once here: with the deriving worker's
-- lock ("vigildrv", store::derive), so that no step derives meanwhile, and
-- leaving out the batches it has not reached (it counts those itself). The
-- window starts a day before the one readers use.
select pg_advisory_xact_lock(8532464671517864566);

insert into term_counts_hourly (term, hour, environment, organization_id, category, events)
select term, date_trunc('hour', e.occurred_at, 'UTC'), e.environment, e.organization_id, e.category, count(*)
from events e, unnest(string_to_array(split_part(e.search_text, E'\n', 1), ' ')) as term
where e.occurred_at >= date_trunc('hour', now() - interval '9 days', 'UTC')
  and not exists (
      select from ingest_batches b, ledger_positions p
      where p.consumer = 'derive' and (b.xid, b.batch_id) > (p.xid, p.batch_id)
        and e.seq between b.seq_from and b.seq_to)
group by 1, 2, 3, 4, 5;
