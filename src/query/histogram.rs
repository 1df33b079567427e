//! The activity histogram: event counts per bucket, from an hourly rollup when
//! one can answer exactly, otherwise from the events themselves.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::filter::{push_conditions, push_dimension_conditions, push_span, rollup_can_answer, Span};
use crate::model::{EventFilter, Histogram};

/// Counts per bar of the span (open spans run up to `now`, and any later
/// events), stacked by environment when several occur and no environment is
/// chosen, otherwise by category.
#[tracing::instrument(skip(pool))]
pub async fn histogram(pool: &PgPool, filter: &EventFilter, span: Span, now: DateTime<Utc>) -> sqlx::Result<Histogram> {
    let Span { from, to, bucket_seconds } = span;
    let hour_aligned = |t: DateTime<Utc>| t.timestamp() % 3600 == 0;
    let from_rollup = bucket_seconds % 3600 == 0
        && rollup_can_answer(filter)
        && hour_aligned(from)
        && to.is_none_or(hour_aligned);

    // Without app, type or outcome, the coarse rollup (environment × organization
    // × category per hour) is a fraction of the size of the full one.
    let rollup = if filter.app.is_none() && filter.types.is_empty() && filter.outcome.is_none() {
        "event_counts_coarse"
    } else {
        "event_counts"
    };
    let mut q = QueryBuilder::<Postgres>::new("select date_bin(make_interval(secs => ");
    q.push_bind(bucket_seconds as f64)
        .push("), ")
        .push(if from_rollup { "hour" } else { "occurred_at" })
        .push(", timestamptz '1970-01-01 00:00:00+00') as bucket, environment, category, ")
        .push(if from_rollup { "sum(events)::int8" } else { "count(*)" })
        .push(" as events from ")
        .push(if from_rollup { rollup } else { "events" })
        .push(" where true");
    if from_rollup {
        q.push(" and hour >= ").push_bind(from);
        if let Some(to) = to {
            q.push(" and hour < ").push_bind(to);
        }
        push_dimension_conditions(&mut q, filter);
    } else {
        push_span(&mut q, from, to);
        push_conditions(&mut q, filter);
    }
    q.push(" group by 1, 2, 3");
    let rows: Vec<(DateTime<Utc>, String, String, i64)> = q.build_query_as().fetch_all(pool).await?;

    Ok(stack(rows, filter, from, to.unwrap_or(now), bucket_seconds))
}

/// Lay the rows out as series over every bucket of the range, empty ones included.
fn stack(
    rows: Vec<(DateTime<Utc>, String, String, i64)>,
    filter: &EventFilter,
    from: DateTime<Utc>,
    end: DateTime<Utc>,
    bucket_seconds: i64,
) -> Histogram {
    let environments: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let by_environment = filter.environment.is_none() && environments.len() > 1;

    let last_row = rows.iter().map(|r| r.0).max().unwrap_or(from);
    let end = end.max(last_row + chrono::Duration::seconds(1));
    let mut buckets = Vec::new();
    let mut t = from.timestamp().div_euclid(bucket_seconds) * bucket_seconds;
    while t < end.timestamp() {
        buckets.push(DateTime::from_timestamp(t, 0).expect("in range"));
        t += bucket_seconds;
    }

    let mut series: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut total = 0;
    for (bucket, environment, category, events) in rows {
        let key = if by_environment { environment } else { category };
        let index = ((bucket.timestamp() - buckets[0].timestamp()) / bucket_seconds) as usize;
        let counts = series.entry(key).or_insert_with(|| vec![0; buckets.len()]);
        if let Some(slot) = counts.get_mut(index) {
            *slot += events;
            total += events;
        }
    }
    Histogram {
        bucket_seconds,
        buckets,
        stacked_by: if by_environment { "environment" } else { "category" }.into(),
        series: series.into_iter().collect(),
        total,
    }
}
