//! The activity histogram: event counts per bucket, from a rollup (per day, per
//! actor and day, per hour, per quarter hour, per word and day, hour or
//! quarter hour) when one can answer exactly, otherwise from the events
//! themselves.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::decoded;
use super::filter::{needs_events, push_conditions, push_dimension_conditions, push_span, push_user, query_of, SearchWords, Span};
use super::memo::Memo;
use crate::model::{bucket_start, next_bucket, EventFilter, Histogram, Scope, CONSOLE_ENVIRONMENT, MONTH};
use crate::store::ledger::{batch_events, UNDERIVED};
use crate::store::retention::{quarter_counts_since, term_hours_since};

/// The origin of every bar: bars of a day start at midnight UTC.
const EPOCH: &str = "timestamptz '1970-01-01 00:00:00+00'";

/// Counts per bar of the span (open spans run up to `now`, and any later
/// events), stacked by environment when several occur and no environment is
/// chosen, otherwise by category.
#[tracing::instrument(skip(pool))]
pub async fn histogram(pool: &PgPool, filter: &EventFilter, span: Span, now: DateTime<Utc>) -> sqlx::Result<Histogram> {
    let rows = counts(pool, filter, span, Split::Category, now).await?;
    Ok(histogram_of(rows, filter, span, now))
}

/// [`histogram`], the counts of past hours kept in `kept` while `version`
/// stays (see [`counts_keeping_past`]).
#[tracing::instrument(skip(pool, kept))]
pub async fn histogram_keeping_past(
    pool: &PgPool,
    filter: &EventFilter,
    span: Span,
    now: DateTime<Utc>,
    kept: &Memo<PastCounts, Vec<Count>>,
    version: &str,
) -> sqlx::Result<Histogram> {
    let rows = counts_keeping_past(pool, filter, span, Split::Category, now, kept, version).await?;
    Ok(histogram_of(rows, filter, span, now))
}

fn histogram_of(rows: Vec<Count>, filter: &EventFilter, span: Span, now: DateTime<Utc>) -> Histogram {
    let environments: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.environment.as_str()).collect();
    let by_environment = filter.environment.is_none() && environments.len() > 1;
    stack(rows, by_environment, span.from, span.to.unwrap_or(now), span.bucket_seconds)
}

/// What counts are split by, besides their bar and environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Category,
    Type,
    App,
    Environment,
    Organization,
}

impl Split {
    /// The column in every table a count is read from (a missing app is `''`, as in the rollups).
    fn column(self) -> &'static str {
        match self {
            Split::Category => "category",
            Split::Type => "type",
            Split::App => "coalesce(app_id, '')",
            Split::Environment => "environment",
            Split::Organization => "organization_id",
        }
    }

    /// Whether the coarse rollups and those of words (environment ×
    /// organization × category) hold what counts are split by.
    fn in_coarse(self) -> bool {
        matches!(self, Split::Category | Split::Environment | Split::Organization)
    }
}

/// Events of one bar, environment and split value.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Count {
    pub bucket: DateTime<Utc>,
    pub environment: String,
    pub key: String,
    pub events: i64,
}

/// The filter's events counted per bar of the span, environment and `split`,
/// from the coarsest rollup that answers exactly (as of `now`).
pub async fn counts(pool: &PgPool, filter: &EventFilter, span: Span, split: Split, now: DateTime<Utc>) -> sqlx::Result<Vec<Count>> {
    let source = Source::for_counts(filter, span, split, now);
    let table = source.table(reads_coarse(filter, split));
    let mut q = QueryBuilder::<Postgres>::new("select bucket, environment, key, sum(events)::int8 as events from (");
    match &source {
        Source::Events => push_event_counts(&mut q, filter, span, split),
        Source::QuarterHourly | Source::Hourly | Source::WordHourly(_) | Source::WordQuarterly(_) => {
            push_timed_counts(&mut q, table, &source, filter, span, split)
        }
        Source::Daily | Source::ActorDaily | Source::WordDaily(_) => push_daily_counts(&mut q, table, &source, filter, span, split),
    }
    if source != Source::Events && underived_may_count(pool, filter).await? {
        push_underived(&mut q, filter, span, split);
    }
    q.push(") counted group by 1, 2, 3");
    let query = query_of(&mut q, filter);
    let rows = if source == Source::Events && filter.text.is_some() {
        let mut tx = pool.begin().await?;
        sqlx::query(UNORDERED).execute(&mut *tx).await?;
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows
    } else {
        query.fetch_all(pool).await?
    };
    decoded(&rows)
}

/// The events of the span counted per bar, environment and split value.
fn push_event_counts(q: &mut QueryBuilder<'_, Postgres>, filter: &EventFilter, span: Span, split: Split) {
    let bar = bucket("occurred_at", span.bucket_seconds);
    let key = split.column();
    q.push(format!("select {bar} as bucket, environment, {key} as key, count(*) as events from events where true"));
    push_span(q, span.from, span.to);
    push_conditions(q, filter);
    q.push(" group by 1, 2, 3");
}

/// The rows of a rollup by hour or quarter hour (`table`) in the span.
fn push_timed_counts(q: &mut QueryBuilder<'_, Postgres>, table: &str, source: &Source, filter: &EventFilter, span: Span, split: Split) {
    let Span { from, to, bucket_seconds } = span;
    let time = if matches!(source, Source::QuarterHourly | Source::WordQuarterly(_)) { "quarter" } else { "hour" };
    let bar = bucket(time, bucket_seconds);
    let key = split.column();
    q.push(format!("select {bar} as bucket, environment, {key} as key, events from {table} where {time} >= ")).push_bind(from);
    if let Some(to) = to {
        q.push(format!(" and {time} < ")).push_bind(to);
    }
    if matches!(source, Source::WordQuarterly(_)) {
        // The hours around the quarters: what the index of the hourly rows bounds.
        q.push(" and hour >= ").push_bind(from.duration_trunc(chrono::TimeDelta::hours(1)).unwrap_or(from));
        if let Some(to) = to {
            q.push(" and hour < ").push_bind(to);
        }
    }
    push_word(q, source);
    push_dimension_conditions(q, filter);
}

/// The rows of a rollup by day (`table`) in the span.
fn push_daily_counts(q: &mut QueryBuilder<'_, Postgres>, table: &str, source: &Source, filter: &EventFilter, span: Span, split: Split) {
    let bar = bucket("(day::timestamp at time zone 'UTC')", span.bucket_seconds);
    let key = split.column();
    q.push(format!("select {bar} as bucket, environment, {key} as key, events from {table} where day >= "))
        .push_bind(span.from.date_naive());
    if let Some(to) = span.to {
        q.push(" and day < ").push_bind(to.date_naive());
    }
    if let Some(user) = &filter.user {
        push_user(q, user);
    }
    push_word(q, source);
    push_dimension_conditions(q, filter);
}

/// The hourly counts of words as a row per quarter hour (`quarters[k]`
/// counts minutes 15(k-1) to 15k of the hour; migration 35), with the hour
/// kept, so that its index bounds the read.
const WORD_QUARTERS: &str = "(select term, hour, hour + interval '15 minutes' * (k - 1) as quarter, environment, organization_id, \
    category, n as events from term_counts_hourly, unnest(quarters) with ordinality as q(n, k)) word_quarters";

/// Free text counted from the events needs them in no order: without plain
/// index scans PostgreSQL intersects the index of words with the time index
/// instead of reading the range in time order and testing every event's
/// words (a day of `support` at 10 M events: 11 800 events read instead of
/// 138 000).
const UNORDERED: &str = "set local enable_indexscan = off";

/// The start of the bar a time (`column`, an SQL expression) falls in:
/// calendar months in UTC, or bins of a fixed width from the epoch.
fn bucket(column: &str, bucket_seconds: i64) -> String {
    if bucket_seconds == MONTH {
        format!("(date_trunc('month', {column} at time zone 'UTC') at time zone 'UTC')")
    } else {
        format!("date_bin(interval '{bucket_seconds} seconds', {column}, {EPOCH})")
    }
}

/// Batches the deriving worker has not counted yet, at most this many, are
/// counted from the events by the chart itself.
const UNDERIVED_BATCHES: i64 = 200;

/// ` union all` the events of the batches committed but not derived yet, so
/// that a chart read from a rollup counts exactly what the table lists even
/// while the worker catches up (in one statement, hence one snapshot of the
/// rollups and the worker's position). Beyond [`UNDERIVED_BATCHES`] the page
/// says how old its counts are instead.
fn push_underived(q: &mut QueryBuilder<'_, Postgres>, filter: &EventFilter, span: Span, split: Split) {
    let key = split.column();
    let bar = bucket("occurred_at", span.bucket_seconds);
    let batch = batch_events("u.seq_from", "u.seq_to");
    q.push(format!(
        " union all select {bar}, environment, key, 1 from (\
         select b.seq_from, b.seq_to \
         from ingest_batches b where {UNDERIVED} \
         order by b.xid, b.batch_id limit {UNDERIVED_BATCHES}) u \
         cross join lateral (select occurred_at, environment, {key} as key from {batch} batch where true"
    ));
    push_span(q, span.from, span.to);
    push_conditions(q, filter);
    q.push(") e");
}

/// Whether one of the batches [`push_underived`] would read may hold events
/// `filter` counts, by the environments and organizations the ledger lists
/// for each. Every console page stores an event of Vigil's own, in a batch
/// of its own as a rule, which the explorer's charts leave out: while only
/// those wait for the worker, a chart reads its rollup alone and PostgreSQL
/// does not plan the lookup of batches in every partition of `events`.
async fn underived_may_count(pool: &PgPool, filter: &EventFilter) -> sqlx::Result<bool> {
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "select exists (select from (select b.environments, b.organizations \
         from ingest_batches b where {UNDERIVED} \
         order by b.xid, b.batch_id limit {UNDERIVED_BATCHES}) u where true"
    ));
    let Scope { environments, organizations } = &filter.scope;
    if !filter.scope.any_environment() {
        q.push(" and u.environments && ").push_bind(environments.clone());
    }
    if !filter.scope.any_organization() {
        q.push(" and u.organizations && ").push_bind(organizations.clone());
    }
    match &filter.environment {
        Some(environment) => {
            q.push(" and ").push_bind(environment.clone()).push(" = any(u.environments)");
        }
        None if filter.without_console => {
            q.push(format!(" and not u.environments <@ array['{CONSOLE_ENVIRONMENT}']"));
        }
        None => {}
    }
    if let Some(organization) = &filter.organization {
        q.push(" and ").push_bind(organization.clone()).push(" = any(u.organizations)");
    }
    q.push(")");
    q.build_query_scalar().fetch_one(pool).await
}

/// Counts of a filter and split over its past hours or days, as kept.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct PastCounts {
    scope: Scope,
    filter: String,
    without_console: bool,
    split: Split,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// [`counts`], those of the hours before the current one (of the days
/// before today for daily bars) kept in `kept` while the past's `version`
/// (`ledger::past_version`) stays: the current hour (day) is counted on
/// every call. A day's chart in quarter hours reads ≈2 800 rows of its
/// rollup at 10 M events, then the current hour ≈130; a day of a word from
/// the events ≈12 000 matches, then the current hour's ≈500. Bars longer
/// than a day (months) are always counted.
pub async fn counts_keeping_past(
    pool: &PgPool,
    filter: &EventFilter,
    span: Span,
    split: Split,
    now: DateTime<Utc>,
    kept: &Memo<PastCounts, Vec<Count>>,
    version: &str,
) -> sqlx::Result<Vec<Count>> {
    let Some(past_to) = past_end(span, now) else {
        return counts(pool, filter, span, split, now).await;
    };
    let past = Span { to: Some(past_to), ..span };
    let key = PastCounts {
        scope: filter.scope.clone(),
        filter: filter.to_query(),
        without_console: filter.without_console,
        split,
        from: span.from,
        to: past_to,
    };
    let mut rows = kept.get_or_compute(&key, version.to_string(), || counts(pool, filter, past, split, now)).await?;
    if span.to.is_none_or(|to| to > past_to) {
        rows.extend(counts(pool, filter, Span { from: past_to, ..span }, split, now).await?);
    }
    Ok(rows)
}

/// Where the past part of `span` ends as of `now`: at the current hour, or
/// today for daily bars (so that the past bars are whole days, the daily
/// rollup's). None when less than an hour (a day) of it is past: the last
/// 15 minutes or hour start anew with every request, and kept, each would
/// crowd out the others. None for bars of months.
fn past_end(span: Span, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let grain = match span.bucket_seconds {
        86_400 => chrono::TimeDelta::days(1),
        seconds if seconds < 86_400 => chrono::TimeDelta::hours(1),
        _ => return None,
    };
    let boundary = now.duration_trunc(grain).ok()?;
    let end = span.to.map_or(boundary, |to| to.min(boundary));
    (end - span.from >= grain).then_some(end)
}

/// Where a chart's counts come from: the events themselves, or the coarsest
/// rollup whose grain divides both the bars and the span's ends (so it counts
/// exactly the same events as the table). A user's chart has a daily rollup of
/// its own, and so has a search for one plain word (per day, and per hour and
/// quarter hour for recent days).
#[derive(Debug, PartialEq, Eq)]
enum Source {
    Events,
    QuarterHourly,
    Hourly,
    Daily,
    ActorDaily,
    WordDaily(String),
    WordHourly(String),
    WordQuarterly(String),
}

impl Source {
    /// What the counts are read from: the coarse rollups (environment ×
    /// organization × category) when `coarse`.
    fn table(&self, coarse: bool) -> &'static str {
        match (self, coarse) {
            (Source::Events, _) => "events",
            (Source::QuarterHourly, true) => "event_counts_quarter_coarse",
            (Source::QuarterHourly, false) => "event_counts_quarter",
            (Source::Hourly, true) => "event_counts_coarse",
            (Source::Hourly, false) => "event_counts",
            (Source::Daily, true) => "event_counts_daily_coarse",
            (Source::Daily, false) => "event_counts_daily",
            (Source::ActorDaily, _) => "actor_counts_daily",
            (Source::WordDaily(_), _) => "term_counts_daily",
            (Source::WordHourly(_), _) => "term_counts_hourly",
            (Source::WordQuarterly(_), _) => WORD_QUARTERS,
        }
    }

    /// The word a rollup of words is read for.
    fn word(&self) -> Option<&str> {
        match self {
            Source::WordDaily(term) | Source::WordHourly(term) | Source::WordQuarterly(term) => Some(term),
            _ => None,
        }
    }

    /// [`Source::for_span`], for counts split by `split` as of `now`: the word
    /// counts are by environment, organization and category only, and the quarter-hour counts by type, app
    /// and outcome and the hourly counts of words (with their quarter hours)
    /// are kept for recent days only (`retention::QUARTER_COUNTS_DAYS`,
    /// `TERM_HOURS_DAYS`; the coarse quarter-hour counts always).
    fn for_counts(filter: &EventFilter, span: Span, split: Split, now: DateTime<Utc>) -> Source {
        match Source::for_span(filter, span) {
            source if source.word().is_some() && !split.in_coarse() => Source::Events,
            Source::WordHourly(_) | Source::WordQuarterly(_) if span.from < term_hours_since(now) => Source::Events,
            Source::QuarterHourly if !reads_coarse(filter, split) && span.from < quarter_counts_since(now) => Source::Events,
            source => source,
        }
    }

    fn for_span(filter: &EventFilter, Span { from, to, bucket_seconds }: Span) -> Source {
        let fits = |grain: i64| {
            bucket_seconds % grain == 0
                && from.timestamp() % grain == 0
                && to.is_none_or(|to| to.timestamp() % grain == 0)
        };
        let term = filter.text.as_deref().map(SearchWords::parse);
        let term = term.as_ref().and_then(SearchWords::single_term);
        let only_text = filter.target.is_none() && filter.ip.is_none() && filter.user.is_none();
        match (needs_events(filter), filter.user.is_some()) {
            (true, _) => match term {
                Some(term) if only_text && coarse(filter) && fits(86_400) => Source::WordDaily(term.to_string()),
                Some(term) if only_text && coarse(filter) && fits(3600) => Source::WordHourly(term.to_string()),
                Some(term) if only_text && coarse(filter) && fits(900) => Source::WordQuarterly(term.to_string()),
                _ => Source::Events,
            },
            (false, true) if fits(86_400) => Source::ActorDaily,
            (false, true) => Source::Events,
            _ if fits(86_400) => Source::Daily,
            _ if fits(3600) => Source::Hourly,
            _ if fits(900) => Source::QuarterHourly,
            _ => Source::Events,
        }
    }
}

fn push_word(q: &mut QueryBuilder<'_, Postgres>, source: &Source) {
    if let Some(term) = source.word() {
        q.push(" and term = ").push_bind(term.to_string());
    }
}

/// Whether the coarse rollups (environment × organization × category), a
/// fraction of the size of the full ones, can answer: no app, type or outcome.
fn coarse(filter: &EventFilter) -> bool {
    filter.app.is_none() && filter.types.is_empty() && filter.outcome.is_none()
}

/// Whether counts split by `split` are read from the coarse rollups.
fn reads_coarse(filter: &EventFilter, split: Split) -> bool {
    split.in_coarse() && coarse(filter)
}

/// Lay the rows out as series over every bucket of the range, empty ones
/// included: one per environment, or one per split value.
pub fn stack(rows: Vec<Count>, by_environment: bool, from: DateTime<Utc>, end: DateTime<Utc>, bucket_seconds: i64) -> Histogram {
    let last_row = rows.iter().map(|r| r.bucket).max().unwrap_or(from);
    let end = end.max(last_row + chrono::Duration::seconds(1));
    let mut buckets = Vec::new();
    let mut t = bucket_start(from, bucket_seconds);
    while t < end {
        buckets.push(t);
        t = next_bucket(t, bucket_seconds);
    }

    let mut series: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut total = 0;
    for Count { bucket, environment, key, events } in rows {
        let key = if by_environment { environment } else { key };
        let Some(index) = buckets.partition_point(|b| *b <= bucket).checked_sub(1) else { continue };
        let counts = series.entry(key).or_insert_with(|| vec![0; buckets.len()]);
        counts[index] += events;
        total += events;
    }
    Histogram {
        bucket_seconds,
        buckets,
        stacked_by: if by_environment { "environment" } else { "category" }.into(),
        series: series.into_iter().collect(),
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_past_ends_at_the_hour_or_today_when_at_least_that_much_is_past() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        let now = at("2026-12-04T10:20:00Z");
        let span = |from: &str, to: Option<&str>, bucket_seconds| Span { from: at(from), to: to.map(at), bucket_seconds };
        assert_eq!(past_end(span("2026-12-03T10:15:00Z", None, 900), now), Some(at("2026-12-04T10:00:00Z")));
        assert_eq!(past_end(span("2026-11-04T00:00:00Z", None, 86_400), now), Some(at("2026-12-04T00:00:00Z")));
        let ended = span("2026-11-04T00:00:00Z", Some("2026-11-05T00:00:00Z"), 3600);
        assert_eq!(past_end(ended, now), Some(at("2026-11-05T00:00:00Z")), "a range that ended is all past");
        assert_eq!(past_end(span("2026-12-04T10:05:00Z", None, 60), now), None, "the last 15 minutes");
        assert_eq!(past_end(span("2026-12-04T09:20:00Z", None, 60), now), None, "the last hour: 40 minutes past");
        assert_eq!(past_end(span("2026-12-04T00:00:00Z", None, 86_400), now), None, "today alone");
        assert_eq!(past_end(span("2025-12-01T00:00:00Z", None, MONTH), now), None, "months");
    }

    #[test]
    fn the_coarsest_rollup_that_fits_answers() {
        let day = DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z").unwrap().to_utc();
        let span = |from: DateTime<Utc>, bucket_seconds| Span { from, to: None, bucket_seconds };
        let source = |query: &str, span: Span| Source::for_span(&EventFilter::from_query(query), span);
        assert_eq!(source("type=app.view", span(day, 86_400)), Source::Daily);
        assert_eq!(source("type=app.view", span(day, 7 * 86_400)), Source::Daily);
        assert_eq!(source("type=app.view", span(day, 3 * 3600)), Source::Hourly);
        assert_eq!(source("type=app.view", span(day + chrono::Duration::hours(5), 86_400)), Source::Hourly);
        assert_eq!(source("type=app.view", span(day, 900)), Source::QuarterHourly);
        assert_eq!(source("env=production", span(day, 300)), Source::Events);
        let bounded = Span { from: day, to: Some(day + chrono::Duration::minutes(100)), bucket_seconds: 3600 };
        assert_eq!(source("", bounded), Source::Events, "an end inside a quarter hour");
        assert_eq!(source("user=u_ana&app=insight", span(day, 86_400)), Source::ActorDaily);
        assert_eq!(source("user=u_ana", span(day, 3600)), Source::Events);
        let daily = Source::WordDaily("support".into());
        assert_eq!(source("q=Support", span(day, 86_400)), daily);
        let hourly = Source::WordHourly("support".into());
        assert_eq!(source("q=support&env=production&org=acme&category=access", span(day, 3 * 3600)), hourly);
        let for_counts = |query: &str, span: Span, split| {
            Source::for_counts(&EventFilter::from_query(query), span, split, day + chrono::Duration::days(7))
        };
        assert_eq!(for_counts("q=support", span(day, 3600), Split::Category), hourly, "kept 8 days");
        assert_eq!(for_counts("q=support", span(day - chrono::Duration::days(2), 3600), Split::Category), Source::Events);
        assert_eq!(for_counts("q=support", span(day, 3600), Split::Type), Source::Events, "by category only");
        assert_eq!(for_counts("q=support", span(day, 3600), Split::Organization), hourly, "and by organization");
        let quarterly = Source::WordQuarterly("support".into());
        assert_eq!(source("q=support", span(day + chrono::Duration::minutes(45), 900)), quarterly);
        assert_eq!(for_counts("q=support", span(day + chrono::Duration::days(6), 900), Split::Category), quarterly, "kept 8 days");
        assert_eq!(for_counts("q=support", span(day - chrono::Duration::days(2), 900), Split::Category), Source::Events);
        assert_eq!(source("q=support", span(day, 300)), Source::Events, "five minutes");
        assert_eq!(source("q=support&app=insight", span(day, 86_400)), Source::Events);
        assert_eq!(source("q=support&user=u_ana", span(day, 86_400)), Source::Events);
        assert_eq!(source("q=support*", span(day, 86_400)), Source::Events);
        assert_eq!(source("q=ana%20silva", span(day, 86_400)), Source::Events);
        assert_eq!(source("q=role.update", span(day, 86_400)), Source::Events);
    }
}
