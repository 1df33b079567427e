//! Option lists for the filter bar, from the values that occur in the range
//! (the `event_values` rollup: one row per day, environment, organization and
//! value, so a reader restricted to some organizations reads it too). The
//! counts of the days before today are kept between requests until one of
//! them changes (`ledger::past_version`): a 90-day range sums
//! ≈60 000 rows at 1 M events, today's part a few hundred.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};

use super::filter::push_scope;
use crate::model::{EventFilter, FilterOption, FilterOptions, Scope};
use super::memo::Memo;

/// Whose value counts over which days: the reader's scope, the chosen
/// environment (every list but the environments' is narrowed to it) and the days.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct ValueDays {
    scope: Scope,
    environment: Option<String>,
    first: NaiveDate,
    last: NaiveDate,
}

/// Events per dimension and value over some days (environments as `environment`).
pub type ValueCounts = Vec<(String, String, i64)>;

/// Values of each dimension in the range (and chosen environment), most
/// frequent first; the counts of past days kept in `kept` while `version`
/// (`ledger::past_version`) stays.
#[tracing::instrument(skip(pool, kept))]
pub async fn filter_options(
    pool: &PgPool,
    filter: &EventFilter,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    kept: &Memo<ValueDays, ValueCounts>,
    version: &str,
) -> sqlx::Result<FilterOptions> {
    let today = now.date_naive();
    let (first, last) = (from.date_naive(), to.map_or(today, |to| to.date_naive()));
    let yesterday = today - TimeDelta::days(1);
    let past = ValueDays { scope: filter.scope.clone(), environment: filter.environment.clone(), first, last: last.min(yesterday) };
    let past_counts = if past.first <= past.last {
        kept.get_or_compute(&past, version.to_string(), || value_counts(pool, &past)).await?
    } else {
        Vec::new()
    };
    let dimensions: Vec<String> = past_counts.iter().map(|(dimension, _, _)| dimension.clone()).collect();
    let values: Vec<String> = past_counts.iter().map(|(_, value, _)| value.clone()).collect();
    let events: Vec<i64> = past_counts.iter().map(|(_, _, events)| *events).collect();
    let mut q = QueryBuilder::<Postgres>::new(
        "select d.dimension, d.value, coalesce(n.name, d.value), d.events from ( \
           select dimension, value, sum(events)::int8 as events from ( \
             select * from unnest(",
    );
    q.push_bind(dimensions).push("::text[], ").push_bind(values).push("::text[], ").push_bind(events);
    q.push("::int8[]) as kept(dimension, value, events)");
    if last >= today {
        let recent = ValueDays { first: first.max(today), last, ..past };
        q.push(" union all ");
        push_value_counts(&mut q, &recent);
    }
    // The name of each value as last seen where this reader may look.
    q.push(") u group by 1, 2) d left join lateral (select n.name from names n where n.kind = d.dimension and n.id = d.value");
    push_names_scope(&mut q, filter);
    q.push(" order by n.last_seen desc limit 1) n on true order by 1, 4 desc");
    let rows: Vec<(String, String, String, i64)> = q.build_query_as().fetch_all(pool).await?;
    let mut options = grouped(rows);
    options.users = recent_users(pool, filter).await?;
    Ok(options)
}

/// The options of each dimension from rows of (dimension, value, label, events).
fn grouped(rows: Vec<(String, String, String, i64)>) -> FilterOptions {
    let mut options = FilterOptions::default();
    for (dimension, value, label, events) in rows {
        let list = match dimension.as_str() {
            "environment" => &mut options.environments,
            "organization" => &mut options.organizations,
            "app" => &mut options.apps,
            "type" => &mut options.types,
            "category" => &mut options.categories,
            _ => &mut options.outcomes,
        };
        list.push(FilterOption { value, label, events });
    }
    options
}

/// Events per dimension and value over `days`.
async fn value_counts(pool: &PgPool, days: &ValueDays) -> sqlx::Result<ValueCounts> {
    let mut q = QueryBuilder::new("");
    push_value_counts(&mut q, days);
    q.build_query_as().fetch_all(pool).await
}

/// `select dimension, value, events …` over `days`: each environment's
/// events, and every other dimension's values in the chosen environment.
fn push_value_counts(q: &mut QueryBuilder<'_, Postgres>, days: &ValueDays) {
    // Every event has exactly one category, so the category rows count each event once.
    q.push("select 'environment' as dimension, environment as value, sum(events)::int8 as events");
    push_values_in_days(q, &days.scope, days.first, Some(days.last));
    q.push(" and dimension = 'category' group by environment union all select dimension, value, sum(events)::int8");
    push_values_in_days(q, &days.scope, days.first, Some(days.last));
    if let Some(env) = &days.environment {
        q.push(" and environment = ").push_bind(env.clone());
    }
    q.push(" group by 1, 2");
}

/// The environments with events in the range that `scope` may see, most events first.
pub async fn environments_in_range(
    pool: &PgPool,
    scope: &crate::model::Scope,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> sqlx::Result<Vec<String>> {
    let mut q = QueryBuilder::<Postgres>::new("select environment from (select environment, sum(events) as events");
    push_values_in_days(&mut q, scope, from.date_naive(), to.map(|to| to.date_naive()));
    // Every event has exactly one category, so the category rows count each event once.
    q.push(" and dimension = 'category' group by environment) e order by events desc, environment");
    q.build_query_scalar().fetch_all(pool).await
}

/// ` from … where …`: one row per day, environment, organization, dimension
/// and value with its events, over the days from `first` to `last` (whole
/// days: the counts beside each choice are for them), as far as `scope` may see.
fn push_values_in_days(q: &mut QueryBuilder<'_, Postgres>, scope: &Scope, first: NaiveDate, last: Option<NaiveDate>) {
    q.push(" from event_values where day >= ").push_bind(first);
    if let Some(last) = last {
        q.push(" and day <= ").push_bind(last);
    }
    push_scope(q, scope);
}

/// Restrict `names` to the reader's scope and the chosen environment.
fn push_names_scope(q: &mut QueryBuilder<'_, Postgres>, filter: &EventFilter) {
    push_scope(q, &filter.scope);
    if let Some(env) = &filter.environment {
        q.push(" and environment = ").push_bind(env.clone());
    }
}

/// The actors seen most recently where the reader may look, each once, with
/// their name and e-mail as last seen.
async fn recent_users(pool: &PgPool, filter: &EventFilter) -> sqlx::Result<Vec<FilterOption>> {
    const SHOWN: usize = 200;
    let mut q = QueryBuilder::<Postgres>::new("select id, name, email from names where kind = 'actor'");
    push_names_scope(&mut q, filter);
    // The same actor may be named in several environments: read a few more to show 200.
    q.push(" order by last_seen desc limit ").push_bind(2 * SHOWN as i64);
    let rows: Vec<(String, Option<String>, Option<String>)> = q.build_query_as().fetch_all(pool).await?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|(id, _, _)| seen.insert(id.clone()))
        .take(SHOWN)
        .map(|(id, name, email)| FilterOption {
            label: match (name, email) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (Some(n), None) => n,
                (None, Some(e)) => e,
                (None, None) => id.clone(),
            },
            value: id,
            events: 0,
        })
        .collect())
}

/// The names of the `kind` (`app`, `organization`) with these ids, as each
/// was last seen where `scope` may look; ids without a name are left out.
pub async fn names_of<'e>(db: impl PgExecutor<'e>, scope: &Scope, kind: &str, ids: Vec<String>) -> sqlx::Result<HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = QueryBuilder::<Postgres>::new("select distinct on (id) id, name from names where name is not null and kind = ");
    q.push_bind(kind.to_string()).push(" and id = any(").push_bind(ids).push(")");
    push_scope(&mut q, scope);
    q.push(" order by id, last_seen desc");
    Ok(q.build_query_as::<(String, String)>().fetch_all(db).await?.into_iter().collect())
}
