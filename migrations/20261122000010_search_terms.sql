-- Free text by whole words, so that it can use an index of words and a rollup.
--
-- Free text used to be a substring match (LIKE '%…%') helped by a trigram
-- index. Its cost was set by the trigrams, not by the matches: a trigram scan
-- reads every entry of a monthly partition for each of the pattern's trigrams,
-- ≈100-155 ms per partition at 10 M events even for an IP seen 18 times, and a
-- common word over a day (≈12 000 of 138 000 events) took ≈150 ms to count.
--
-- Now the text of an event (search_text: actor, target, type, path, reason and
-- IP, lower-cased) is a set of terms, and free text matches events that have
-- every term of the query:
--   * every run of letters and digits is a term: "role", "update", "126";
--   * so is every whitespace-separated word that has punctuation inside, with
--     the punctuation at its ends cut off: "role.update", "ana@acme.example",
--     "126.0.1.2", "api/roles/42".
-- "role.update" as a query therefore finds that type, "update" finds it too,
-- and "upd" does not (a trailing * makes a word a prefix: "upd*").
--
-- The GIN index of terms answers a rare term from its own few entries. Common
-- single words are counted for the chart by term_counts instead.

-- Terms may repeat in the array (a word without punctuation is both a run and a
-- word); the index does not mind, and the rollup takes each once. One plain
-- expression, so that PostgreSQL inlines it: ≈37 µs per event here, against
-- ≈90 µs for the same terms through a subquery with DISTINCT.
create function vigil_terms(search_text text) returns text[]
language sql immutable parallel safe
as $$
    select array_remove(
        regexp_split_to_array(search_text, '[^[:alnum:]]+') ||
        regexp_split_to_array(regexp_replace(search_text, '(^|\s)[^\s[:alnum:]]+|[^\s[:alnum:]]+(?=\s|$)', '\1', 'g'), '\s+'),
        '')
$$;

create index events_terms_idx on events using gin (vigil_terms(search_text));

-- Events per single word (letters and digits only) and the chart's dimensions,
-- per quarter hour (charts up to a few days) and per day (longer ones). Filled
-- by the same insert statement as the other rollups (store::insert_events).
-- Words with punctuation (IPs, e-mails, paths) are left out: they are the many
-- one-off terms, and few enough events carry each that the chart counts them
-- from the index above. The count is in the key's index, so a chart is an
-- index-only scan. At 10 M events: 29.7 M quarter-hour rows (5.2 GB with their
-- index; a common word over 7 days sums a few tens of thousands) and 1.6 M
-- daily ones (256 MB). On that store the index took ≈15 minutes to build and
-- the quarter-hour backfill ≈30.
create table term_counts_quarter (
    term            text        not null,
    quarter         timestamptz not null,
    environment     text        not null,
    organization_id text        not null,
    category        text        not null,
    events          bigint      not null,
    primary key (term, quarter, environment, organization_id, category) include (events)
);

set local work_mem = '512MB';
insert into term_counts_quarter (term, quarter, environment, organization_id, category, events)
select term, date_bin('15 minutes', occurred_at, timestamptz '1970-01-01 00:00:00+00'),
       environment, organization_id, category, count(*)
from events, lateral (select distinct term from unnest(vigil_terms(search_text)) as term) as terms
where term !~ '[^[:alnum:]]'
group by 1, 2, 3, 4, 5;

create table term_counts_daily (
    term            text   not null,
    day             date   not null,
    environment     text   not null,
    organization_id text   not null,
    category        text   not null,
    events          bigint not null,
    primary key (term, day, environment, organization_id, category) include (events)
);

insert into term_counts_daily (term, day, environment, organization_id, category, events)
select term, (quarter at time zone 'UTC')::date, environment, organization_id, category, sum(events)
from term_counts_quarter
group by 1, 2, 3, 4, 5;
