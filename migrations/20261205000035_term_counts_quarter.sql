-- Counts of words per quarter hour, for the last few days only
-- (store::retention::TERM_QUARTERS_DAYS): a chart of one word over the last
-- 24 hours (bars of 15 minutes) counted every match from the events, ≈12 000
-- of them for `support` at 10 M events (55–65 ms, and over 100 ms on a day of
-- 400 000 events), reading most of the day's heap pages; from these rows it
-- reads a few thousand. Keyed as the hourly counts of words (migration 34):
-- ≈2.8 rows per event at a hundred thousand events a day, hence two days
-- rather than eight. The deriving worker writes an event's words here when
-- its quarter hour is that recent (store::derive, $5); the retention run
-- deletes older rows (retention::thin_recent_counts).
create table term_counts_quarter (
    term            text        not null,
    quarter         timestamptz not null,
    environment     text        not null,
    organization_id text        not null,
    category        text        not null,
    events          bigint      not null,
    primary key (term, quarter, environment, organization_id, category) include (events)
);

-- The events already derived, counted once here, as in migration 34: with
-- the deriving worker's lock ("vigildrv", store::derive), leaving out the
-- batches it has not reached. The window starts a day before the one readers
-- use.
select pg_advisory_xact_lock(8532464671517864566);

insert into term_counts_quarter (term, quarter, environment, organization_id, category, events)
select term, date_bin(interval '15 minutes', e.occurred_at, timestamptz '1970-01-01 00:00:00+00'),
       e.environment, e.organization_id, e.category, count(*)
from events e, unnest(string_to_array(split_part(e.search_text, E'\n', 1), ' ')) as term
where e.occurred_at >= date_trunc('hour', now() - interval '3 days', 'UTC')
  and not exists (
      select from ingest_batches b, ledger_positions p
      where p.consumer = 'derive' and (b.xid, b.batch_id) > (p.xid, p.batch_id)
        and e.seq between b.seq_from and b.seq_to)
group by 1, 2, 3, 4, 5;
