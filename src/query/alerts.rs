//! What alert rules ask of the events: the events of some committed batches
//! that match a view, the count of matching events in a window per group,
//! whether a window holds any, and which sources of events went quiet.
//! Both use the explorer's own conditions, so that a rule sees what its view
//! shows (a user matched on the event's own columns; see [`push_rule_conditions`]).

use std::collections::BTreeSet;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};

use super::filter::{push_conditions, push_events_by_time, push_span, Span};
use super::histogram::{counts_keeping_past, Count, PastCounts, Split};
use super::memo::Memo;
use crate::model::{EventFilter, GroupBy, QUIET_SOURCES_SEEN_DAYS};
use crate::store::ledger::{batch_events, past_version};

/// Event ids a notification names at most.
pub const IDS_PER_NOTIFICATION: i64 = 10;

/// For each filter, the matching events in the seq ranges `ranges` (whole
/// committed batches): how many, and the first
/// [`IDS_PER_NOTIFICATION`] ids in seq order. One pass over the events for
/// every filter at once. Vigil's own notices about alerts never match (a rule
/// on everything would otherwise feed on its own delivery failures).
pub async fn matches_in(
    conn: &mut PgConnection,
    filters: &[EventFilter],
    ranges: &[(i64, i64)],
) -> sqlx::Result<Vec<(i64, Vec<String>)>> {
    if filters.is_empty() {
        return Ok(Vec::new());
    }
    let (from, to): (Vec<i64>, Vec<i64>) = ranges.iter().copied().unzip();
    let mut q = QueryBuilder::<Postgres>::new("select ");
    for (n, filter) in filters.iter().enumerate() {
        if n > 0 {
            q.push(", ");
        }
        q.push("count(*) filter (where true");
        push_rule_conditions(&mut q, filter);
        q.push("), coalesce((array_agg(id order by seq) filter (where true");
        push_rule_conditions(&mut q, filter);
        q.push(format!("))[1:{IDS_PER_NOTIFICATION}], '{{}}')"));
    }
    // Joined on the ranges with the batches' time bounds, PostgreSQL walked a
    // whole index whose time came second (31 ms at 10 M events, for a batch of 20).
    q.push(" from unnest(")
        .push_bind(from)
        .push("::int8[], ")
        .push_bind(to)
        .push(format!("::int8[]) as r(lo, hi) cross join lateral {} e", batch_events("r.lo", "r.hi")))
        .push(" where not (environment = 'vigil' and type like 'alert.%')");
    let row = q.build().fetch_one(conn).await?;
    (0..filters.len()).map(|n| Ok((row.try_get(2 * n)?, row.try_get(2 * n + 1)?))).collect()
}

/// The explorer's conditions, except that a user is matched on the event's
/// own actor id, e-mail or name rather than through `names`, which the
/// deriving worker fills later: a rule sees an actor's very first event, and
/// evaluation need not wait for the worker.
fn push_rule_conditions(q: &mut QueryBuilder<'_, Postgres>, filter: &EventFilter) {
    push_conditions(q, &EventFilter { user: None, ..filter.clone() });
    if let Some(user) = &filter.user {
        q.push(" and (actor_id = ").push_bind(user.clone());
        q.push(" or actor_email = ").push_bind(user.clone());
        q.push(" or actor_name = ").push_bind(user.clone()).push(")");
    }
}

/// Groups whose matching events in `[from, to)` reach `threshold`: (group,
/// count, newest ids). Ungrouped rules have the one group ''.
pub async fn counts_over(
    conn: &mut PgConnection,
    filter: &EventFilter,
    group_by: Option<GroupBy>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    threshold: i64,
) -> sqlx::Result<Vec<(String, i64, Vec<String>)>> {
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "select {} as grp, count(*), (array_agg(id order by occurred_at desc))[1:{IDS_PER_NOTIFICATION}] from ",
        group_key(group_by)
    ));
    push_events_by_time(&mut q, &format!("id, occurred_at, {GROUP_COLUMNS}"), filter, |q| {
        push_span(q, from, Some(to));
        push_rule_conditions(q, filter);
    });
    q.push(" matching group by 1 having count(*) >= ").push_bind(threshold).push(" order by 1");
    q.build_query_as().fetch_all(conn).await
}

/// Whether any event matches `filter` in `[from, to)` (a silence rule's
/// question: it stops at the first).
pub async fn any_in(conn: &mut PgConnection, filter: &EventFilter, from: DateTime<Utc>, to: DateTime<Utc>) -> sqlx::Result<bool> {
    let mut q = QueryBuilder::<Postgres>::new("select exists (select from ");
    push_events_by_time(&mut q, "1", filter, |q| {
        push_span(q, from, Some(to));
        push_rule_conditions(q, filter);
    });
    q.push(" matching)");
    q.build_query_scalar().fetch_one(conn).await
}

/// The groups of a silence rule per environment, organization or app
/// (`per`) that had events of its view in the [`QUIET_SOURCES_SEEN_DAYS`]
/// days before `from` (whole days, counted from the rollups; those of past
/// days kept in `kept`) and none in `[from, to)`: the sources that went
/// quiet. Vigil's own trail is left out unless the view chooses its
/// environment, as in the explorer.
pub async fn quiet_sources(
    pool: &PgPool,
    conn: &mut PgConnection,
    kept: &Memo<PastCounts, Vec<Count>>,
    filter: &EventFilter,
    per: GroupBy,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> sqlx::Result<Vec<String>> {
    let split = match per {
        GroupBy::Environment => Split::Environment,
        GroupBy::Organization => Split::Organization,
        GroupBy::App => Split::App,
        GroupBy::User | GroupBy::Ip => return Ok(Vec::new()),
    };
    let filter = EventFilter { without_console: true, ..filter.clone() };
    let seen_from = (from - TimeDelta::days(QUIET_SOURCES_SEEN_DAYS)).duration_trunc(TimeDelta::days(1)).unwrap_or(from);
    let span = Span { from: seen_from, to: None, bucket_seconds: 86_400 };
    let version = past_version(pool, to).await?;
    let counted = counts_keeping_past(pool, &filter, span, split, to, kept, &version).await?;
    let seen: BTreeSet<String> = counted.into_iter().map(|c| c.key).filter(|k| !k.is_empty()).collect();
    let mut quiet = Vec::new();
    for source in seen {
        if !any_in(conn, &filter.with(per.filter_key(), Some(&source)), from, to).await? {
            quiet.push(source);
        }
    }
    Ok(quiet)
}

/// The columns of `events` a count rule's group is made of ([`group_key`]).
const GROUP_COLUMNS: &str = "actor_email, actor_id, actor_name, client_ip, environment, organization_id, app_id";

/// What a count rule's group is, of [`GROUP_COLUMNS`] ('' for all together).
fn group_key(group_by: Option<GroupBy>) -> &'static str {
    match group_by {
        None => "''",
        Some(GroupBy::User) => "coalesce(actor_email, actor_id, actor_name, '')",
        Some(GroupBy::Ip) => "coalesce(host(client_ip), '')",
        Some(GroupBy::Environment) => "environment",
        Some(GroupBy::Organization) => "organization_id",
        Some(GroupBy::App) => "coalesce(app_id, '')",
    }
}

/// What [`replay_counts`] found: how often groups started firing, how many
/// groups, the one that fired most (and how often), and when it fired last.
#[derive(sqlx::FromRow)]
pub struct Replayed {
    pub fired: i64,
    pub groups: i64,
    pub most: Option<String>,
    pub most_fired: Option<i64>,
    pub last: Option<DateTime<Utc>>,
}

/// A count rule replayed on its view's events in `[from, to)`: each event at
/// which its group's count within the preceding `window_seconds` reached
/// `threshold` while the count just before it had not, i.e. each time the
/// rule would have started firing. Grouped and counted as [`counts_over`].
pub async fn replay_counts(
    conn: &mut PgConnection,
    filter: &EventFilter,
    group_by: Option<GroupBy>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    window_seconds: i32,
    threshold: i64,
) -> sqlx::Result<Replayed> {
    let mut q = QueryBuilder::<Postgres>::new(format!("with matching as (select {} as grp, occurred_at from ", group_key(group_by)));
    push_events_by_time(&mut q, &format!("occurred_at, {GROUP_COLUMNS}"), filter, |q| {
        push_span(q, from, Some(to));
        push_rule_conditions(q, filter);
    });
    // The window ends at the event and its peers (events of the same
    // instant); without the peers it is the count just before. (A frame
    // "exclude group" said the same, but PostgreSQL recounts such a frame for
    // every row: 4.1 s instead of 0.44 s for 236 000 events in one group.)
    q.push(" e), windows as (select grp, occurred_at, reached, reached - peers as before from (select grp, occurred_at, ")
        .push("count(*) over (partition by grp order by occurred_at range between interval '1 second' * ")
        .push_bind(window_seconds)
        .push(" preceding and current row) as reached, ")
        .push("count(*) over (partition by grp order by occurred_at range between current row and current row) as peers from matching) w)");
    q.push(", fired as (select distinct grp, occurred_at from windows where reached >= ")
        .push_bind(threshold)
        .push(" and before < ")
        .push_bind(threshold);
    q.push(
        "), per_group as (select grp, count(*) as times, max(occurred_at) as last from fired group by grp) \
         select coalesce(sum(times), 0)::int8 as fired, count(*) as groups, (array_agg(grp order by times desc, grp))[1] as most, \
         max(times) as most_fired, max(last) as last from per_group",
    );
    q.build_query_as().fetch_one(conn).await
}
