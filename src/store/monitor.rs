//! The SQL of availability checks: services, the scheduler's lease on due
//! checks, results (monthly partitions with their own retention), incidents,
//! maintenance windows and heartbeats.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgConnection, PgPool};

use crate::model::{
    CheckResult, Incident, MaintenanceWindow, ServiceDefinition, ServiceState, ServiceSummary, RESULT_BAR,
};

/// The columns of [`ServiceDefinition`] (its fields), each after `prefix` (`"s."`).
fn definition_columns(prefix: &str) -> String {
    super::columns(&ServiceDefinition::FIELDS, prefix)
}

/// A definition's values in the order of [`ServiceDefinition::FIELDS`], as
/// the arguments `$1`–`$13` of a statement.
fn definition_arguments(s: &ServiceDefinition) -> sqlx::Result<PgArguments> {
    let mut args = PgArguments::default();
    let added = (|| {
        args.add(&s.name)?;
        args.add(&s.environment)?;
        args.add(s.kind)?;
        args.add(&s.target)?;
        args.add(&s.http_method)?;
        args.add(s.status_min)?;
        args.add(s.status_max)?;
        args.add(&s.keyword)?;
        args.add(&s.expected_address)?;
        args.add(s.timeout_ms)?;
        args.add(s.interval_seconds)?;
        args.add(s.down_after)?;
        args.add(s.up_after)
    })();
    added.map_err(sqlx::Error::Encode)?;
    Ok(args)
}

/// Add a service; its first check runs at `first_run`.
pub async fn insert(pool: &PgPool, s: &ServiceDefinition, heartbeat_hash: Option<&[u8]>, first_run: DateTime<Utc>, by: &str) -> sqlx::Result<i64> {
    let mut args = definition_arguments(s)?;
    (|| {
        args.add(heartbeat_hash)?;
        args.add(first_run)?;
        args.add(by)
    })()
    .map_err(sqlx::Error::Encode)?;
    let (columns, values) = (definition_columns(""), super::placeholders(1..=ServiceDefinition::FIELDS.len()));
    sqlx::query_scalar_with(
        &format!(
            "insert into services ({columns}, heartbeat_token_hash, next_run_at, last_heartbeat_at, created_by) \
             values ({values}, $14, $15, case when $14 is null then null else now() end, $16) returning id"
        ),
        args,
    )
    .fetch_one(pool)
    .await
}

/// Replace what a service checks and how; the definition before, if there is
/// such a service. A service that becomes a heartbeat, or stays one and
/// `replace`s its address, gets the address of `new_token_hash` (the old one
/// stops working); one that is no longer a heartbeat loses its address. A
/// changed check (another kind or target) starts over: its runs in a row and
/// its certificate are forgotten, and it runs at once. Results, incidents and
/// state stay.
pub async fn update(
    pool: &PgPool,
    id: i64,
    s: &ServiceDefinition,
    new_token_hash: Option<&[u8]>,
    replace: bool,
) -> sqlx::Result<Option<ServiceDefinition>> {
    let mut args = definition_arguments(s)?;
    (|| {
        args.add(id)?;
        args.add(new_token_hash)?;
        args.add(replace)
    })()
    .map_err(sqlx::Error::Encode)?;
    let (columns, values) = (definition_columns(""), super::placeholders(1..=ServiceDefinition::FIELDS.len()));
    let before = definition_columns("before.");
    // The same check: same kind, same target ($3, $4).
    let same = "(r.kind, r.target) = ($3, $4)";
    sqlx::query_as_with(
        &format!(
            "update services r set ({columns}) = ({values}), \
                 heartbeat_token_hash = case when $3 <> 'heartbeat' then null \
                     when r.kind <> 'heartbeat' or $16 then $15 else r.heartbeat_token_hash end, \
                 last_heartbeat_at = case when $3 <> 'heartbeat' then null \
                     when r.kind <> 'heartbeat' then now() else r.last_heartbeat_at end, \
                 failures_in_row = case when {same} then r.failures_in_row else 0 end, \
                 successes_in_row = case when {same} then r.successes_in_row else 0 end, \
                 certificate_expires_at = case when {same} then r.certificate_expires_at end, \
                 certificate_warned_for = case when {same} then r.certificate_warned_for end, \
                 next_run_at = case when {same} then r.next_run_at else now() end \
             from services before where r.id = $14 and before.id = r.id returning {before}"
        ),
        args,
    )
    .fetch_optional(pool)
    .await
}

/// Delete a service no alert rule watches, and its results, in one transaction.
pub async fn delete(pool: &PgPool, id: i64) -> sqlx::Result<super::Deletion> {
    let mut tx = pool.begin().await?;
    let deletion = super::delete_unless_used(&mut tx, "services", "service_id = $1", id).await?;
    if matches!(deletion, super::Deletion::Deleted(_)) {
        sqlx::query("delete from service_results where service_id = $1").bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(deletion)
}

/// Pause or resume a service's checks; its name, if there is one.
pub async fn set_paused(pool: &PgPool, id: i64, paused: bool) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("update services set paused = $2, running_until = null where id = $1 returning name")
        .bind(id)
        .bind(paused)
        .fetch_optional(pool)
        .await
}

/// A check the scheduler has claimed.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DueCheck {
    pub id: i64,
    #[sqlx(flatten)]
    pub definition: ServiceDefinition,
    /// When it was due; how late it starts is measured from here.
    pub scheduled_for: DateTime<Utc>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
}

/// Claim up to `limit` checks due at `now` for this instance: each gets a
/// lease while it runs and its next slot on its own grid (every interval, at a
/// phase derived from its id, so that services spread over the interval and a
/// late run does not shift the ones after it), so that no other instance, and
/// no later tick of this one, runs it again before it is due.
pub async fn claim_due(pool: &PgPool, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<DueCheck>> {
    sqlx::query_as(&format!(
        "with due as (
             select id, next_run_at, ((id * 7919) % (interval_seconds * 1000)) / 1000.0 as phase from services
             where not paused and next_run_at <= $1 and (running_until is null or running_until < $1)
             order by next_run_at
             for update skip locked
             limit $2
         )
         update services s set
             next_run_at = to_timestamp((floor((extract(epoch from $1) - due.phase) / s.interval_seconds) + 1)
                                        * s.interval_seconds + due.phase),
             running_until = $1 + make_interval(secs => s.timeout_ms / 1000.0 + 30)
         from due where s.id = due.id
         returning s.id, due.next_run_at as scheduled_for, s.last_heartbeat_at, {}",
        definition_columns("s.")
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A service's counters, locked for the transaction that records a result.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Counters {
    pub state: ServiceState,
    pub state_since: DateTime<Utc>,
    pub failures_in_row: i32,
    pub successes_in_row: i32,
    pub certificate_warned_for: Option<DateTime<Utc>>,
}

/// Lock a service's row and read its counters, and whether a maintenance
/// window covers `at`; `None` when it was deleted meanwhile.
pub async fn lock_counters(conn: &mut PgConnection, id: i64, at: DateTime<Utc>) -> sqlx::Result<Option<(Counters, bool)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        counters: Counters,
        in_maintenance: bool,
    }
    let row: Option<Row> = sqlx::query_as(
        "select state, state_since, failures_in_row, successes_in_row, certificate_warned_for,
                exists (select from maintenance_windows m where m.service_id = s.id and $2 >= m.starts_at and $2 < m.ends_at)
                    as in_maintenance
         from services s where id = $1 for update",
    )
    .bind(id)
    .bind(at)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.counters, row.in_maintenance)))
}

/// Store the counters after a result and release the run's lease.
pub async fn save_counters(conn: &mut PgConnection, id: i64, c: &Counters, certificate_expires_at: Option<DateTime<Utc>>) -> sqlx::Result<()> {
    sqlx::query(
        "update services set state = $2, state_since = $3, failures_in_row = $4, successes_in_row = $5, \
             certificate_warned_for = $6, certificate_expires_at = coalesce($7, certificate_expires_at), running_until = null \
         where id = $1",
    )
    .bind(id)
    .bind(c.state)
    .bind(c.state_since)
    .bind(c.failures_in_row)
    .bind(c.successes_in_row)
    .bind(c.certificate_warned_for)
    .bind(certificate_expires_at)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_result(conn: &mut PgConnection, id: i64, r: &CheckResult, late_ms: i32) -> sqlx::Result<()> {
    sqlx::query(
        "insert into service_results (service_id, checked_at, ok, latency_ms, status, error, late_ms, in_maintenance) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(r.checked_at)
    .bind(r.ok)
    .bind(r.latency_ms)
    .bind(r.status)
    .bind(&r.error)
    .bind(late_ms)
    .bind(r.in_maintenance)
    .execute(conn)
    .await
    .map(drop)
}

/// Open an incident (the service went down) or close the open one.
pub async fn open_incident(conn: &mut PgConnection, id: i64, at: DateTime<Utc>, reason: &str) -> sqlx::Result<()> {
    sqlx::query("insert into service_incidents (service_id, started_at, reason) values ($1, $2, $3) on conflict do nothing")
        .bind(id)
        .bind(at)
        .bind(reason)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn close_incident(conn: &mut PgConnection, id: i64, at: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("update service_incidents set ended_at = $2 where service_id = $1 and ended_at is null")
        .bind(id)
        .bind(at)
        .execute(conn)
        .await
        .map(drop)
}

/// Note a heartbeat; the service's id and name, when the token is known.
pub async fn heartbeat(pool: &PgPool, token_hash: &[u8], at: DateTime<Utc>) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as("update services set last_heartbeat_at = $2 where heartbeat_token_hash = $1 and kind = 'heartbeat' returning id, name")
        .bind(token_hash)
        .bind(at)
        .fetch_optional(pool)
        .await
}

/// Every service (in `environments`, when given) with its recent results,
/// uptime and open incident, by name.
pub async fn list(pool: &PgPool, environments: Option<&[String]>, now: DateTime<Utc>) -> sqlx::Result<Vec<ServiceSummary>> {
    summaries(pool, environments, None, now).await
}

/// One service (in `environments`, when given), as [`list`] shows it.
pub async fn summary(pool: &PgPool, environments: Option<&[String]>, id: i64, now: DateTime<Utc>) -> sqlx::Result<Option<ServiceSummary>> {
    Ok(summaries(pool, environments, Some(id), now).await?.pop())
}

/// How many services (not paused) are in each state.
pub async fn state_counts(pool: &PgPool) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("select state, count(*) from services where not paused group by state order by state").fetch_all(pool).await
}

/// (id, name) of every service, by name.
pub async fn names(pool: &PgPool) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("select id, name from services order by name").fetch_all(pool).await
}

async fn summaries(pool: &PgPool, environments: Option<&[String]>, only: Option<i64>, now: DateTime<Utc>) -> sqlx::Result<Vec<ServiceSummary>> {
    let rows: Vec<ServiceRow> = sqlx::query_as(&format!(
        "select s.id, s.state, s.state_since, s.paused, s.certificate_expires_at, s.last_heartbeat_at,
                exists (select from maintenance_windows m where m.service_id = s.id and $2 >= m.starts_at and $2 < m.ends_at)
                    as in_maintenance,
                vigil_uptime(s.id, s.created_at, $2 - interval '1 day', $2) as uptime_day,
                vigil_uptime(s.id, s.created_at, $2 - interval '7 days', $2) as uptime_week,
                vigil_uptime(s.id, s.created_at, $2 - interval '30 days', $2) as uptime_month,
                {}
         from services s
         where ($1::text[] is null or s.environment = any($1)) and ($3::int8 is null or s.id = $3)
         order by s.name",
        definition_columns("s.")
    ))
    .bind(environments)
    .bind(now)
    .bind(only)
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut recent = recent_results(pool, &ids).await?;
    let mut incidents = open_incidents(pool, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| ServiceSummary {
            id: row.id,
            definition: row.definition,
            state: row.state,
            state_since: row.state_since,
            paused: row.paused,
            recent: recent.remove(&row.id).unwrap_or_default(),
            uptime: [row.uptime_day, row.uptime_week, row.uptime_month],
            incident: incidents.remove(&row.id),
            certificate_expires_at: row.certificate_expires_at,
            last_heartbeat_at: row.last_heartbeat_at,
            in_maintenance: row.in_maintenance,
        })
        .collect())
}

/// A service row of [`list`].
#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: i64,
    state: ServiceState,
    state_since: DateTime<Utc>,
    paused: bool,
    certificate_expires_at: Option<DateTime<Utc>>,
    last_heartbeat_at: Option<DateTime<Utc>>,
    in_maintenance: bool,
    uptime_day: Option<f64>,
    uptime_week: Option<f64>,
    uptime_month: Option<f64>,
    #[sqlx(flatten)]
    definition: ServiceDefinition,
}

type ResultRow = (i64, DateTime<Utc>, bool, Option<i32>, Option<i32>, Option<String>, bool);

/// The newest [`RESULT_BAR`] results of each service, oldest first.
async fn recent_results(pool: &PgPool, ids: &[i64]) -> sqlx::Result<std::collections::HashMap<i64, Vec<CheckResult>>> {
    let rows: Vec<ResultRow> = sqlx::query_as(
        "select s.id, r.checked_at, r.ok, r.latency_ms, r.status, r.error, r.in_maintenance
         from unnest($1::int8[]) s(id)
         cross join lateral (
             select * from service_results where service_id = s.id order by checked_at desc limit $2
         ) r
         order by s.id, r.checked_at",
    )
    .bind(ids)
    .bind(RESULT_BAR as i64)
    .fetch_all(pool)
    .await?;
    let mut by_service: std::collections::HashMap<i64, Vec<CheckResult>> = Default::default();
    for (id, checked_at, ok, latency_ms, status, error, in_maintenance) in rows {
        by_service.entry(id).or_default().push(CheckResult { checked_at, ok, latency_ms, status, error, in_maintenance });
    }
    Ok(by_service)
}

async fn open_incidents(pool: &PgPool, ids: &[i64]) -> sqlx::Result<std::collections::HashMap<i64, Incident>> {
    let rows: Vec<(i64, DateTime<Utc>, String)> =
        sqlx::query_as("select service_id, started_at, reason from service_incidents where ended_at is null and service_id = any($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(id, started_at, reason)| (id, Incident { started_at, ended_at: None, reason })).collect())
}

/// Hourly latency (mean, checks, failures) over the 7 days before `now`.
pub async fn latency(pool: &PgPool, id: i64, now: DateTime<Utc>) -> sqlx::Result<Vec<(DateTime<Utc>, Option<f64>, i64, i64)>> {
    sqlx::query_as(
        "select date_trunc('hour', checked_at), avg(latency_ms)::float8, count(*), count(*) filter (where not ok)
         from service_results where service_id = $1 and checked_at >= $2 - interval '7 days' and checked_at <= $2
         group by 1 order by 1",
    )
    .bind(id)
    .bind(now)
    .fetch_all(pool)
    .await
}

/// The newest 50 incidents of a service.
pub async fn incidents(pool: &PgPool, id: i64) -> sqlx::Result<Vec<Incident>> {
    let rows: Vec<(DateTime<Utc>, Option<DateTime<Utc>>, String)> = sqlx::query_as(
        "select started_at, ended_at, reason from service_incidents where service_id = $1 order by started_at desc limit 50",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(started_at, ended_at, reason)| Incident { started_at, ended_at, reason }).collect())
}

/// Maintenance windows of a service that have not ended by `now`.
pub async fn maintenance(pool: &PgPool, id: i64, now: DateTime<Utc>) -> sqlx::Result<Vec<MaintenanceWindow>> {
    let rows: Vec<(i64, DateTime<Utc>, DateTime<Utc>, Option<String>)> = sqlx::query_as(
        "select id, starts_at, ends_at, note from maintenance_windows where service_id = $1 and ends_at > $2 order by starts_at",
    )
    .bind(id)
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id, starts_at, ends_at, note)| MaintenanceWindow { id, starts_at, ends_at, note }).collect())
}

pub async fn add_maintenance(pool: &PgPool, service_id: i64, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>, note: Option<&str>, by: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into maintenance_windows (service_id, starts_at, ends_at, note, created_by) values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(service_id)
    .bind(starts_at)
    .bind(ends_at)
    .bind(note)
    .bind(by)
    .fetch_one(pool)
    .await
}

/// End a maintenance window at `now` (one not begun yet is called off:
/// deleted); its service and its end before, if it had not ended.
pub async fn end_maintenance(pool: &PgPool, id: i64, now: DateTime<Utc>) -> sqlx::Result<Option<(i64, DateTime<Utc>)>> {
    sqlx::query_as(
        "with before as (select id, service_id, starts_at, ends_at from maintenance_windows where id = $1 and ends_at > $2 for update), \
              ended as (update maintenance_windows m set ends_at = $2 from before where m.id = before.id and before.starts_at < $2), \
              called_off as (delete from maintenance_windows m using before where m.id = before.id and before.starts_at >= $2) \
         select service_id, ends_at from before",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// Services whose certificate expires before `before`: (id, name, environment, expiry).
pub async fn expiring_certificates(conn: &mut PgConnection, before: DateTime<Utc>) -> sqlx::Result<Vec<(i64, String, String, DateTime<Utc>)>> {
    sqlx::query_as(
        "select id, name, environment, certificate_expires_at from services where certificate_expires_at < $1 and not paused order by id",
    )
    .bind(before)
    .fetch_all(conn)
    .await
}

/// Services that are down now: (id, name, since, reason of the open incident).
pub async fn down(conn: &mut PgConnection) -> sqlx::Result<Vec<(i64, String, DateTime<Utc>, Option<String>)>> {
    sqlx::query_as(
        "select s.id, s.name, s.state_since, i.reason from services s \
         left join service_incidents i on i.service_id = s.id and i.ended_at is null \
         where s.state = 'down' and not s.paused order by s.id",
    )
    .fetch_all(conn)
    .await
}

/// Create the results' monthly partitions holding these days (as the owner).
pub async fn ensure_result_partitions(owner: &PgPool, days: &[NaiveDate]) -> sqlx::Result<()> {
    sqlx::query("select vigil_ensure_result_partition(d) from unnest($1::date[]) as d")
        .bind(days)
        .execute(owner)
        .await
        .map(drop)
}

/// Drop the results' partitions that end on or before `before` (as the
/// owner); the names dropped.
pub async fn drop_old_results(owner: &PgPool, before: DateTime<Utc>) -> sqlx::Result<Vec<String>> {
    let old: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_inherits i join pg_class c on c.oid = i.inhrelid \
         where i.inhparent = 'service_results'::regclass \
           and to_timestamp(substring(c.relname from 'service_results_(\\d{4}_\\d{2})'), 'YYYY_MM') + interval '1 month' <= $1",
    )
    .bind(before)
    .fetch_all(owner)
    .await?;
    for name in &old {
        sqlx::query(&format!("drop table {}", super::retention::quoted(name))).execute(owner).await?;
    }
    Ok(old)
}

/// How late check runs since `since` started against their schedule:
/// (runs, p50 ms, p99 ms, max ms, failed runs).
pub async fn lateness(pool: &PgPool, since: DateTime<Utc>) -> sqlx::Result<(i64, i64, i64, i64, i64)> {
    sqlx::query_as(
        "select count(*), coalesce(percentile_disc(0.5) within group (order by late_ms), 0)::int8,
                coalesce(percentile_disc(0.99) within group (order by late_ms), 0)::int8, coalesce(max(late_ms), 0)::int8,
                count(*) filter (where not ok)
         from service_results where checked_at >= $1",
    )
    .bind(since)
    .fetch_one(pool)
    .await
}

/// Whether any service exists.
pub async fn any(pool: &PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select from services)").fetch_one(pool).await
}

/// Past results and incidents of a service (the demo's history), and the
/// counters they leave it with.
#[derive(Clone, Debug)]
pub struct SeededHistory {
    pub created_at: DateTime<Utc>,
    pub results: Vec<CheckResult>,
    /// (started, ended, reason)
    pub incidents: Vec<(DateTime<Utc>, DateTime<Utc>, String)>,
    pub counters: Counters,
}

/// Store a service's past: its creation time, results, closed incidents and
/// the state they leave it in.
pub async fn seed_history(pool: &PgPool, id: i64, history: &SeededHistory) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("update services set created_at = $2 where id = $1").bind(id).bind(history.created_at).execute(&mut *tx).await?;
    save_counters(&mut tx, id, &history.counters, None).await?;
    for result in &history.results {
        insert_result(&mut tx, id, result, 0).await?;
    }
    for (started_at, ended_at, reason) in &history.incidents {
        sqlx::query("insert into service_incidents (service_id, started_at, ended_at, reason) values ($1, $2, $3, $4)")
            .bind(id)
            .bind(started_at)
            .bind(ended_at)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}
