//! Option lists for the filter bar, from the values that occur in the range.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::model::{EventFilter, FilterOption, FilterOptions};

/// Values of each dimension in the range (and chosen environment), most frequent first.
#[tracing::instrument(skip(pool))]
pub async fn filter_options(
    pool: &PgPool,
    filter: &EventFilter,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> sqlx::Result<FilterOptions> {
    let hour_floor = DateTime::from_timestamp(from.timestamp().div_euclid(3600) * 3600, 0).unwrap_or(from);
    let push_range = |q: &mut QueryBuilder<'_, Postgres>| {
        q.push(" from event_counts where hour >= ").push_bind(hour_floor);
        if let Some(to) = to {
            q.push(" and hour < ").push_bind(to);
        }
    };
    let mut q = QueryBuilder::<Postgres>::new(
        "select d.dimension, d.value, coalesce(n.name, d.value), d.events from ( \
           select 'environment' as dimension, environment as value, sum(events)::int8 as events",
    );
    push_range(&mut q);
    q.push(
        " group by environment union all \
         select case when grouping(organization_id) = 0 then 'organization' \
                     when grouping(app_id) = 0 then 'app' \
                     when grouping(type) = 0 then 'type' \
                     when grouping(category) = 0 then 'category' \
                     else 'outcome' end, \
                coalesce(organization_id, app_id, type, category, outcome), sum(events)::int8",
    );
    push_range(&mut q);
    // Every list but the environments' is narrowed to the chosen environment.
    if let Some(env) = &filter.environment {
        q.push(" and environment = ").push_bind(env.clone());
    }
    q.push(
        " group by grouping sets ((organization_id), (app_id), (type), (category), (outcome)) \
         ) d left join names n on n.kind = d.dimension and n.id = d.value \
         where d.value <> '' order by 1, 4 desc",
    );
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
    options.users = sqlx::query_as::<_, (String, Option<String>, Option<String>)>(
        "select id, name, email from names where kind = 'actor' order by last_seen desc limit 200",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
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
    .collect();
    Ok(options)
}
