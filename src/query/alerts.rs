//! What alert rules ask of the events: the events of some committed batches
//! that match a view, and the count of matching events in a window per group.
//! Both use the explorer's own conditions, so that a rule sees what its view shows.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::filter::{push_conditions, push_span};
use crate::model::{EventFilter, GroupBy};

/// Event ids a notification names at most.
pub const IDS_PER_NOTIFICATION: i64 = 10;

/// Matching events in the seq ranges `ranges` (whole committed batches),
/// whose events occurred within `occurred` (so that only their months'
/// partitions are read): how many, and the first [`IDS_PER_NOTIFICATION`] ids in seq order.
/// Vigil's own notices about alerts never match (a rule on everything would
/// otherwise feed on its own delivery failures).
pub async fn matches_in(
    conn: &mut PgConnection,
    filter: &EventFilter,
    ranges: &[(i64, i64)],
    occurred: (DateTime<Utc>, DateTime<Utc>),
) -> sqlx::Result<(i64, Vec<String>)> {
    let (from, to): (Vec<i64>, Vec<i64>) = ranges.iter().copied().unzip();
    let mut q = QueryBuilder::<Postgres>::new(
        "select count(*), coalesce((array_agg(id order by seq))[1:",
    );
    q.push(IDS_PER_NOTIFICATION.to_string());
    q.push("], '{}') from events join unnest(")
        .push_bind(from)
        .push("::int8[], ")
        .push_bind(to)
        .push("::int8[]) as r(lo, hi) on seq between r.lo and r.hi where not (environment = 'vigil' and type like 'alert.%')");
    q.push(" and occurred_at between ").push_bind(occurred.0).push(" and ").push_bind(occurred.1);
    push_conditions(&mut q, filter);
    q.build_query_as().fetch_one(conn).await
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
    let group = match group_by {
        None => "''",
        Some(GroupBy::User) => "coalesce(actor_email, actor_id, actor_name, '')",
        Some(GroupBy::Ip) => "coalesce(host(client_ip), '')",
    };
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "select {group} as grp, count(*), (array_agg(id order by occurred_at desc))[1:{IDS_PER_NOTIFICATION}] from events where true"
    ));
    push_span(&mut q, from, Some(to));
    push_conditions(&mut q, filter);
    q.push(" group by 1 having count(*) >= ").push_bind(threshold).push(" order by 1");
    q.build_query_as().fetch_all(conn).await
}
