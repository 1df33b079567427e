//! Sessions: the list with its filters, and one session with its timeline.

use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};

use super::decoded;
use super::events::{SummaryRow, SUMMARY_COLUMNS};
use super::filter::{push_actor_keys, push_scope};
use crate::model::{
    ClientInfo, FilterOption, PathPoint, Place, Scope, SessionCursor, SessionFilter, SessionList, SessionOptions, SessionSummary, SessionView, FLAGS,
    MAP_SESSIONS,
};
use super::memo::Memo;
use crate::store::{derive, ledger};

const SESSION_COLUMNS: &str = "environment, organization_id, coalesce(organization_name, nullif(organization_id, '')) as organization, \
    session_id, user_key, user_name, user_email, user_role, started_at, last_seen, ended_at, events, \
    host(ip) as ip, machine_id, client_info, coalesce(flags, '{}') as flags";

#[derive(FromRow)]
struct SessionRow {
    environment: String,
    organization_id: String,
    organization: Option<String>,
    session_id: String,
    user_key: String,
    user_name: Option<String>,
    user_email: Option<String>,
    user_role: Option<String>,
    started_at: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    events: i64,
    ip: Option<String>,
    machine_id: Option<String>,
    client_info: Option<serde_json::Value>,
    flags: Vec<String>,
}

impl SessionRow {
    fn into_summary(self, idle_since: DateTime<Utc>) -> SessionSummary {
        let client: Option<ClientInfo> = self.client_info.and_then(|v| serde_json::from_value(v).ok());
        SessionSummary {
            device: client.as_ref().and_then(ClientInfo::device_label),
            place: client.as_ref().and_then(|c| c.reported_label().or_else(|| c.location_label())),
            client,
            active: self.ended_at.is_none() && self.last_seen >= idle_since,
            environment: self.environment,
            organization_id: self.organization_id,
            organization: self.organization,
            session_id: self.session_id,
            user_key: self.user_key,
            user_name: self.user_name,
            user_email: self.user_email,
            user_role: self.user_role,
            started_at: self.started_at,
            last_seen: self.last_seen,
            ended_at: self.ended_at,
            events: self.events,
            ip: self.ip,
            machine_id: self.machine_id,
            flags: self.flags,
        }
    }
}

/// Active sessions (no sign-out, seen within `idle_minutes`), or with
/// `include_ended` every session seen in the last 7 days; most recent first,
/// `limit` of them after `after`. The filter choices come from `options`
/// while the sessions have not changed.
#[tracing::instrument(skip(pool, options))]
pub async fn list_sessions(
    pool: &PgPool,
    filter: &SessionFilter,
    idle_minutes: i64,
    limit: i64,
    after: Option<&SessionCursor>,
    options: &Memo<Scope, SessionOptions>,
) -> sqlx::Result<SessionList> {
    let now = Utc::now();
    let idle_since = now - Duration::minutes(idle_minutes);
    let mut q = QueryBuilder::<Postgres>::new("");
    let page = Window { order: "last_seen desc, session_id, environment, organization_id", limit: limit + 1, after };
    push_newest_sessions(&mut q, SESSION_COLUMNS, filter, (now, idle_since), "", page);

    let (rows, options, places) = tokio::try_join!(
        q.build_query_as::<SessionRow>().fetch_all(pool),
        kept_session_options(pool, &filter.scope, now, options),
        places(pool, filter, now, idle_since),
    )?;
    // The list shows the client's labels only (`SessionSummary::client`).
    let sessions = rows.into_iter().map(|r| SessionSummary { client: None, ..r.into_summary(idle_since) }).collect();
    let (sessions, next) = super::split_page(sessions, limit as usize, SessionSummary::cursor);
    let [environments, organizations, countries, device_types] = options;
    Ok(SessionList { now, sessions, environments, organizations, countries, device_types, places, next })
}

/// Which sessions of an order a read takes: the first `limit` after `after`
/// (a position in the list's order: by last seen, newest first, then by key).
struct Window<'c> {
    order: &'static str,
    limit: i64,
    after: Option<&'c SessionCursor>,
}

/// `select {columns} from sessions …`: the sessions of `window` (newest
/// first by last seen) that match `filter` and `conditions`.
///
/// Read and filtered in the last-seen index's order. Picking the rows from
/// that index alone first, then reading them, was faster for a rare filter,
/// but a generic plan of it hashed every session (1 s at 10 M events). A
/// user's sessions are read per key of theirs from the index by user and last
/// seen (migration 31): in the week's order, PostgreSQL 15 tested the user of
/// every session of the week on its row (20 ms at 10 M events; 2 ms by key).
fn push_newest_sessions(
    q: &mut QueryBuilder<'_, Postgres>,
    columns: &str,
    filter: &SessionFilter,
    (now, idle_since): (DateTime<Utc>, DateTime<Utc>),
    conditions: &str,
    window: Window<'_>,
) {
    let order = format!(" order by {} limit ", window.order);
    let Some(user) = &filter.user else {
        q.push(format!("select {columns} from sessions where true{conditions}"));
        push_session_filter(q, filter, now, idle_since);
        push_after(q, window.after);
        q.push(&order).push_bind(window.limit);
        return;
    };
    q.push(format!("select {columns} from (select distinct id from ("));
    push_actor_keys(q, user);
    q.push(format!(") keys) users cross join lateral (select * from sessions where user_key = users.id{conditions}"));
    push_session_filter(q, filter, now, idle_since);
    push_after(q, window.after);
    q.push(&order).push_bind(window.limit).push(") sessions");
    q.push(&order).push_bind(window.limit);
}

/// ` and` the sessions after `after` in the list's order. The bound on
/// `last_seen` alone is where the read of its index starts.
fn push_after(q: &mut QueryBuilder<'_, Postgres>, after: Option<&SessionCursor>) {
    let Some(after) = after else { return };
    q.push(" and last_seen <= ").push_bind(after.last_seen);
    q.push(" and (last_seen < ").push_bind(after.last_seen);
    q.push(" or (session_id, environment, organization_id) > (").push_bind(after.session_id.clone());
    q.push(", ").push_bind(after.environment.clone());
    q.push(", ").push_bind(after.organization_id.clone()).push("))");
}

/// The conditions of the sessions filter but the user's: active (or seen in 7
/// days), scope, filters.
fn push_session_filter(q: &mut QueryBuilder<'_, Postgres>, filter: &SessionFilter, now: DateTime<Utc>, idle_since: DateTime<Utc>) {
    if filter.include_ended {
        q.push(" and last_seen >= ").push_bind(now - Duration::days(7));
    } else {
        q.push(" and ended_at is null and last_seen >= ").push_bind(idle_since);
    }
    let eq = |q: &mut QueryBuilder<'_, Postgres>, column: &str, value: &Option<String>| {
        if let Some(v) = value {
            q.push(format!(" and {column} = ")).push_bind(v.clone());
        }
    };
    push_scope(q, &filter.scope);
    eq(q, "environment", &filter.environment);
    eq(q, "organization_id", &filter.organization);
    eq(q, "country_code", &filter.country);
    eq(q, "device_type", &filter.device_type);
    if let Some(flag) = &filter.flag {
        // Written into the statement, so that the planner can read the flag's
        // own index (migration 32): one of the known flags, never input.
        match FLAGS.iter().find(|known| *known == flag) {
            Some(known) => q.push(format!(" and '{known}' = any(flags)")),
            None => q.push(" and false"),
        };
    }
}

/// The most places the map shows (the busiest).
const MAX_PLACES: i64 = 2000;

/// Where the sessions matching the filter come from, to a tenth of a degree:
/// the most recently seen [`MAP_SESSIONS`] of them (read newest first from the
/// `last_seen` index alone, which carries the filtered columns and the city,
/// so the page's cost stays flat however many match).
/// Rounded as `float8`: through `numeric` the rounding took half the
/// query's time (24 of 44 ms for 10 000 sessions).
async fn places(pool: &PgPool, filter: &SessionFilter, now: DateTime<Utc>, idle_since: DateTime<Utc>) -> sqlx::Result<Vec<Place>> {
    let mut q = QueryBuilder::<Postgres>::new(
        "select round(latitude * 10) / 10, round(longitude * 10) / 10, \
                concat_ws(', ', max(city), max(country_code)), max(country_code), \
                count(*)::int8, (count(*) filter (where cardinality(flags) > 0))::int8 from (",
    );
    let located = " and latitude is not null and longitude is not null";
    let columns = "latitude, longitude, city, country_code, flags";
    // By last seen alone: the session id is not in the index the map reads alone.
    let window = Window { order: "last_seen desc", limit: MAP_SESSIONS, after: None };
    push_newest_sessions(&mut q, columns, filter, (now, idle_since), located, window);
    q.push(") newest group by 1, 2 order by 5 desc limit ").push_bind(MAX_PLACES);
    let rows: Vec<(f64, f64, String, Option<String>, i64, i64)> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(latitude, longitude, label, country, sessions, flagged)| Place { latitude, longitude, label, country, sessions, flagged })
        .collect())
}

/// [`session_options`], kept per scope until the deriving worker (which keeps
/// the sessions) moves or the minute turns: the scan of a week of sessions was
/// most of the sessions page's cost.
async fn kept_session_options(
    pool: &PgPool,
    scope: &Scope,
    now: DateTime<Utc>,
    kept: &Memo<Scope, SessionOptions>,
) -> sqlx::Result<SessionOptions> {
    let version = ledger::version(pool, derive::FOLLOWER).await?;
    kept.get_or_compute(scope, version, || session_options(pool, scope, now)).await
}

/// The choices of the environment, organization, country and device filters:
/// what sessions of the last 7 days show, in one scan (grouping sets).
async fn session_options(pool: &PgPool, scope: &Scope, now: DateTime<Utc>) -> sqlx::Result<SessionOptions> {
    let mut q = QueryBuilder::<Postgres>::new(
        "select grouping(environment, organization_id, country_code, device_type)::int4 as set, \
         coalesce(environment, organization_id, country_code, device_type) as value, \
         max(coalesce(organization_name, organization_id)) as organization, max(client_info->>'country') as country, \
         count(*)::int8 as events from sessions where last_seen >= ",
    );
    q.push_bind(now - Duration::days(7));
    push_scope(&mut q, scope);
    q.push(" group by grouping sets ((environment), (organization_id), (country_code), (device_type)) order by 5 desc");
    let rows: Vec<(i32, Option<String>, Option<String>, Option<String>, i64)> = q.build_query_as().fetch_all(pool).await?;
    // grouping() sets a bit for each column left out, the first column highest.
    let mut lists: SessionOptions = Default::default();
    for (set, value, organization, country, events) in rows {
        let (list, label) = match set {
            0b0111 => (0, None),
            0b1011 => (1, organization),
            0b1101 => (2, country),
            _ => (3, None),
        };
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            if lists[list].len() < 100 {
                lists[list].push(FilterOption { label: label.unwrap_or_else(|| value.clone()), value, events });
            }
        }
    }
    Ok(lists)
}

/// One session (the most recent with this id) and all its events, oldest first.
#[tracing::instrument(skip(pool))]
pub async fn session_view(
    pool: &PgPool,
    session_id: &str,
    scope: &Scope,
    idle_minutes: i64,
) -> sqlx::Result<Option<SessionView>> {
    let now = Utc::now();
    let mut q = QueryBuilder::<Postgres>::new(format!("select {SESSION_COLUMNS} from sessions where session_id = "));
    q.push_bind(session_id);
    push_scope(&mut q, scope);
    q.push(" order by last_seen desc limit 1");
    let row: Option<SessionRow> = q.build_query_as().fetch_optional(pool).await?;
    let Some(row) = row else { return Ok(None) };
    let events = sqlx::query(&format!(
        "select {SUMMARY_COLUMNS} from events \
         where actor_session_id = $1 and environment = $2 and organization_id = $3 \
         order by occurred_at, id limit 2000"
    ))
    .bind(session_id)
    .bind(&row.environment)
    .bind(&row.organization_id)
    .fetch_all(pool)
    .await?;
    let path = session_path(pool, &row, session_id).await?;
    Ok(Some(SessionView {
        now,
        session: row.into_summary(now - Duration::minutes(idle_minutes)),
        events: decoded::<SummaryRow>(&events)?.into_iter().map(Into::into).collect(),
        path,
    }))
}

/// Where a session was: the user's previous session (what its flags compare
/// with), then each place its events came from, in time order.
async fn session_path(pool: &PgPool, row: &SessionRow, session_id: &str) -> sqlx::Result<Vec<PathPoint>> {
    let rows: Vec<(DateTime<Utc>, f64, f64, String, bool)> = sqlx::query_as(
        "(select started_at, latitude, longitude, concat_ws(', ', client_info->>'city', country_code), true \
          from sessions where environment = $2 and organization_id = $3 and user_key = $4 \
            and started_at < $5 and session_id <> $1 and latitude is not null \
          order by started_at desc limit 1) \
         union all \
         (select occurred_at, coalesce(client_info->'reported'->>'latitude', client_info->>'latitude')::float8, \
                 coalesce(client_info->'reported'->>'longitude', client_info->>'longitude')::float8, \
                 concat_ws(', ', coalesce(client_info->'reported'->>'city', client_info->>'city'), country_code), false \
          from events_with_client where actor_session_id = $1 and environment = $2 and organization_id = $3 \
            and (client_info ? 'latitude' or client_info->'reported' ? 'latitude') \
          order by occurred_at, id limit 2000) \
         order by 1",
    )
    .bind(session_id)
    .bind(&row.environment)
    .bind(&row.organization_id)
    .bind(&row.user_key)
    .bind(row.started_at)
    .fetch_all(pool)
    .await?;
    let mut path: Vec<PathPoint> = Vec::new();
    for (at, latitude, longitude, label, previous_session) in rows {
        let moved = path.last().is_none_or(|p| (p.latitude, p.longitude) != (latitude, longitude));
        if moved {
            path.push(PathPoint { at, latitude, longitude, label, previous_session });
        }
    }
    Ok(path)
}
