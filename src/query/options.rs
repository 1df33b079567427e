//! Option lists for the filter bar, from the values that occur in the range
//! (the `event_values` rollup: one row per day, environment, organization and
//! value, so a reader restricted to some organizations reads it too).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::filter::push_scope;
use crate::model::{EventFilter, FilterOption, FilterOptions};

/// Values of each dimension in the range (and chosen environment), most frequent first.
#[tracing::instrument(skip(pool))]
pub async fn filter_options(
    pool: &PgPool,
    filter: &EventFilter,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> sqlx::Result<FilterOptions> {
    let push_range = |q: &mut QueryBuilder<'_, Postgres>| push_values_in_range(q, &filter.scope, from, to);
    // Every event has exactly one category, so the category rows count each event once.
    let mut q = QueryBuilder::<Postgres>::new(
        "select d.dimension, d.value, coalesce(n.name, d.value), d.events from ( \
           select 'environment' as dimension, environment as value, sum(events)::int8 as events",
    );
    push_range(&mut q);
    q.push(" and dimension = 'category' group by environment union all select dimension, value, sum(events)::int8");
    push_range(&mut q);
    // Every list but the environments' is narrowed to the chosen environment.
    if let Some(env) = &filter.environment {
        q.push(" and environment = ").push_bind(env.clone());
    }
    // The name of each value as last seen where this reader may look.
    q.push(" group by 1, 2) d left join lateral (select n.name from names n where n.kind = d.dimension and n.id = d.value");
    push_names_scope(&mut q, filter);
    q.push(" order by n.last_seen desc limit 1) n on true order by 1, 4 desc");
    let rows: Vec<(String, String, String, i64)> = q.build_query_as().fetch_all(pool).await?;

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
    options.users = recent_users(pool, filter).await?;
    Ok(options)
}

/// The environments with events in the range that `scope` may see, most events first.
pub async fn environments_in_range(
    pool: &PgPool,
    scope: &crate::model::Scope,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> sqlx::Result<Vec<String>> {
    let mut q = QueryBuilder::<Postgres>::new("select environment from (select environment, sum(events) as events");
    push_values_in_range(&mut q, scope, from, to);
    // Every event has exactly one category, so the category rows count each event once.
    q.push(" and dimension = 'category' group by environment) e order by events desc, environment");
    q.build_query_scalar().fetch_all(pool).await
}

/// ` from … where …`: one row per day, environment, organization, dimension
/// and value with its events, over the days the range touches (whole days:
/// the counts beside each choice are for them), as far as `scope` may see.
fn push_values_in_range(q: &mut QueryBuilder<'_, Postgres>, scope: &crate::model::Scope, from: DateTime<Utc>, to: Option<DateTime<Utc>>) {
    q.push(" from event_values where day >= ").push_bind(from.date_naive());
    if let Some(to) = to {
        q.push(" and day <= ").push_bind(to.date_naive());
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
