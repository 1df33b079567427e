//! Comparing environments: their activity over the same bars, event types
//! side by side, what only one of them has seen, and the latest state of a
//! type of target in each, folded from the `changes` of its events.
//! Counts come from the rollups the chart uses; what was seen, from `names`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::filter::{push_dimension_conditions, push_scope, resolve_span, Span};
use super::histogram::{counts_keeping_past, stack, Count, PastCounts, Split};
use super::memo::Memo;
use crate::model::{
    CompareView, Comparison, EventFilter, Histogram, OnlyIn, Scope, TargetStates, TypeCounts, CONSOLE_ENVIRONMENT,
    STATE_EVENTS,
};

/// The most values listed as "only in" per kind of value.
const ONLY_IN_SHOWN: i64 = 50;
/// The most targets whose states are laid side by side.
const STATES_SHOWN: usize = 100;

/// Compare the view's environments as `scope` may see them, at `now` (the
/// counts of past hours and days kept in `kept`).
#[tracing::instrument(skip(pool, kept))]
pub async fn compare(
    pool: &PgPool,
    view: &CompareView,
    scope: &Scope,
    now: DateTime<Utc>,
    kept: &Memo<PastCounts, Vec<Count>>,
) -> sqlx::Result<Comparison> {
    let mut filter = EventFilter { environment: None, scope: scope.clone(), ..view.filter.clone() };
    let span = resolve_span(&filter, now);
    let available = super::options::environments_in_range(pool, scope, span.from, span.to).await?;
    let environments = compared(view, scope, &available);
    filter.scope = Scope { environments: environments.clone(), organizations: scope.organizations.clone() };

    let kinds = target_kinds(pool, &filter.scope).await?;
    // Roles by default: whose permissions differ is the question most asked.
    let kind = view.kind.clone().or_else(|| kinds.iter().find(|k| *k == "role").or(kinds.first()).cloned());
    let version = crate::store::ledger::past_version(pool, now).await?;
    let (by_type, by_app, seen_once, (states, states_partial)) = tokio::try_join!(
        counts_keeping_past(pool, &filter, span, Split::Type, now, kept, &version),
        counts_keeping_past(pool, &filter, span, Split::App, now, kept, &version),
        seen_in_one(pool, &filter.scope, span.from),
        latest_states(pool, &filter, kind.as_deref(), &environments, span.to.unwrap_or(now)),
    )?;

    let types = per_environment(&by_type, &environments);
    let totals = environments.iter().enumerate().map(|(i, _)| types.values().map(|c| c[i]).sum()).collect::<Vec<i64>>();
    let mut seen_in_one_only = single_environment("type", &types, &environments);
    let mut apps = single_environment("app", &per_environment(&by_app, &environments), &environments);
    name_apps(pool, &filter.scope, &mut apps).await?;
    seen_in_one_only.extend(apps);
    seen_in_one_only.extend(seen_once);
    let mut types: Vec<TypeCounts> = types.into_iter().map(|(t, counts)| TypeCounts::new(t, counts, &totals)).collect();
    types.sort_by(|a, b| {
        b.difference.total_cmp(&a.difference).then(b.counts.iter().sum::<i64>().cmp(&a.counts.iter().sum()))
    });
    let histogram = chart(by_type, &environments, span, now);
    Ok(Comparison { environments, available, histogram, totals, types, only_in: seen_in_one_only, kinds, kind, states, states_partial, now })
}

/// The environments a view compares: those it names that the reader may see,
/// or every one with events in range but Vigil's own.
fn compared(view: &CompareView, scope: &Scope, available: &[String]) -> Vec<String> {
    if view.environments.is_empty() {
        return available.iter().filter(|e| *e != CONSOLE_ENVIRONMENT).cloned().collect();
    }
    let visible = |e: &&String| scope.any_environment() || scope.environments.contains(e);
    view.environments.iter().filter(visible).cloned().collect()
}

/// One series per compared environment, in their order, empty ones included.
fn chart(rows: Vec<Count>, environments: &[String], span: Span, now: DateTime<Utc>) -> Histogram {
    let mut histogram = stack(rows, true, span.from, span.to.unwrap_or(now), span.bucket_seconds);
    let mut series: HashMap<String, Vec<i64>> = histogram.series.drain(..).collect();
    let empty = vec![0; histogram.buckets.len()];
    histogram.series = environments.iter().map(|e| (e.clone(), series.remove(e).unwrap_or_else(|| empty.clone()))).collect();
    histogram
}

/// Sum counts over the bars: per key, one count per compared environment.
fn per_environment(rows: &[Count], environments: &[String]) -> BTreeMap<String, Vec<i64>> {
    let mut table: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in rows.iter().filter(|r| !r.key.is_empty()) {
        if let Some(i) = environments.iter().position(|e| *e == row.environment) {
            table.entry(row.key.clone()).or_insert_with(|| vec![0; environments.len()])[i] += row.events;
        }
    }
    table
}

/// Keys counted in exactly one of several environments.
fn single_environment(dimension: &str, table: &BTreeMap<String, Vec<i64>>, environments: &[String]) -> Vec<OnlyIn> {
    if environments.len() < 2 {
        return Vec::new();
    }
    let mut found: Vec<(i64, OnlyIn)> = table
        .iter()
        .filter_map(|(key, counts)| {
            let mut present = counts.iter().enumerate().filter(|(_, n)| **n > 0);
            match (present.next(), present.next()) {
                (Some((i, n)), None) => Some((*n, OnlyIn {
                    dimension: dimension.into(),
                    value: key.clone(),
                    label: key.clone(),
                    environment: environments[i].clone(),
                })),
                _ => None,
            }
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.value.cmp(&b.1.value)));
    found.into_iter().take(ONLY_IN_SHOWN as usize).map(|(_, o)| o).collect()
}

/// Label apps with their names as last seen where the scope may look.
async fn name_apps(pool: &PgPool, scope: &Scope, apps: &mut [OnlyIn]) -> sqlx::Result<()> {
    if apps.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = apps.iter().map(|a| a.value.clone()).collect();
    let names = super::options::names_of(pool, scope, "app", ids).await?;
    for app in apps {
        if let Some(name) = names.get(&app.value) {
            app.label = name.clone();
        }
    }
    Ok(())
}

/// Actors and targets last seen (since `from`) in exactly one of the scope's
/// environments, most recently seen first.
async fn seen_in_one(pool: &PgPool, scope: &Scope, from: DateTime<Utc>) -> sqlx::Result<Vec<OnlyIn>> {
    if scope.environments.len() < 2 {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Postgres>::new(
        "select kind, id, label, environment from ( \
           select kind, id, coalesce(max(name), max(email), id) as label, min(environment) as environment, \
                  row_number() over (partition by kind = 'actor' order by max(last_seen) desc, id) as rank \
           from names where (kind = 'actor' or kind like 'target:%') and last_seen >= ",
    );
    q.push_bind(from);
    push_scope(&mut q, scope);
    q.push(" group by kind, id having count(distinct environment) = 1) seen where rank <= ")
        .push_bind(ONLY_IN_SHOWN)
        .push(" order by kind = 'actor' desc, rank");
    let rows: Vec<(String, String, String, String)> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(kind, id, label, environment)| match kind.strip_prefix("target:") {
            Some(target_type) => {
                OnlyIn { dimension: "target".into(), label: format!("{target_type}: {label}"), value: id, environment }
            }
            None => OnlyIn { dimension: "user".into(), label, value: id, environment },
        })
        .collect())
}

/// Target types with targets where the scope may look.
async fn target_kinds(pool: &PgPool, scope: &Scope) -> sqlx::Result<Vec<String>> {
    let mut q = QueryBuilder::<Postgres>::new("select distinct substr(kind, 8) from names where kind like 'target:%'");
    push_scope(&mut q, scope);
    q.push(" order by 1");
    q.build_query_scalar().fetch_all(pool).await
}

/// The latest known fields of each target of `kind` per environment, up to
/// `until`: the newest value of each field among the newest `STATE_EVENTS`
/// changes (and whether there were more). Targets that differ come first.
async fn latest_states(
    pool: &PgPool,
    filter: &EventFilter,
    kind: Option<&str>,
    environments: &[String],
    until: DateTime<Utc>,
) -> sqlx::Result<(Vec<TargetStates>, bool)> {
    let Some(kind) = kind else { return Ok((Vec::new(), false)) };
    // Only where the data lies, not what happened in the range: a state is all its history.
    let place = EventFilter {
        organization: filter.organization.clone(),
        app: filter.app.clone(),
        scope: filter.scope.clone(),
        ..EventFilter::default()
    };
    let mut q = QueryBuilder::<Postgres>::new(
        "select environment, target_id, target_name, changes from events \
         where changes is not null and target_id is not null and target_type = ",
    );
    q.push_bind(kind.to_string()).push(" and occurred_at < ").push_bind(until);
    push_dimension_conditions(&mut q, &place);
    // By time alone, so that the partial index of changes is read newest
    // first across partitions and the read stops at the limit.
    q.push(" order by occurred_at desc limit ").push_bind(STATE_EVENTS + 1);
    let rows: Vec<(String, String, Option<String>, serde_json::Value)> = q.build_query_as().fetch_all(pool).await?;
    let partial = rows.len() as i64 > STATE_EVENTS;

    // target → (latest name, per environment: field → newest value)
    let mut folded: BTreeMap<String, (Option<String>, Vec<Option<BTreeMap<String, String>>>)> = BTreeMap::new();
    for (environment, id, name, changes) in rows.into_iter().take(STATE_EVENTS as usize) {
        let Some(i) = environments.iter().position(|e| *e == environment) else { continue };
        let entry = folded.entry(id).or_insert_with(|| (name.clone(), vec![None; environments.len()]));
        let fields = entry.1[i].get_or_insert_with(BTreeMap::new);
        for change in changes.as_array().into_iter().flatten() {
            if let Some(field) = change.get("field").and_then(|f| f.as_str()) {
                let value = change.get("new").cloned().unwrap_or_default();
                fields.entry(field.to_string()).or_insert_with(|| value.to_string());
            }
        }
    }
    let mut states: Vec<TargetStates> =
        folded.into_iter().map(|(id, (name, states))| TargetStates::new(id, name, states)).collect();
    states.sort_by_key(|s| (s.differing.is_empty() && !s.is_partial(), s.name.clone().unwrap_or_else(|| s.id.clone())));
    states.truncate(STATES_SHOWN);
    Ok((states, partial))
}
