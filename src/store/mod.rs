//! Writes to the event store: connecting, migrating and creating monthly
//! partitions here; batches of events in `write` (with their free-text terms,
//! split by `terms`, and their clients, kept once by `clients`), everything
//! derived from them in `derive` (the worker that follows the ledger), the
//! ledger's state in `ledger`. The only place
//! with INSERT. `access` holds the SQL of console users, API keys and console
//! sessions; `monitor` of services and their checks; `alerts` of alert rules,
//! channels and deliveries; `rejections` of the items ingest refused.

pub mod access;
pub mod alerts;
pub mod clients;
pub mod derive;
pub mod lease;
pub mod ledger;
pub mod monitor;
pub mod rejections;
pub mod replication;
pub mod retention;
pub mod rules;
pub mod seal;
pub mod terms;
pub mod views;
pub mod write;

pub use write::{insert, insert_events, InsertOutcome, Sealing};

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use chrono::{Datelike, Months, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::DatabaseConfig;

/// What came of deleting something alert rules may depend on (a channel, a
/// service): it is kept while a rule uses it.
#[derive(Debug, PartialEq)]
pub enum Deletion {
    /// Deleted; its name.
    Deleted(String),
    /// Kept: the names of the alert rules that use it.
    InUse(Vec<String>),
    Missing,
}

/// Delete row `id` of `table` (a table with `id` and `name`) unless an
/// alert rule uses it, as `used` (a condition on `alert_rules` with `$1`)
/// says; in one statement, so that the check and the delete see one state.
async fn delete_unless_used(conn: &mut sqlx::PgConnection, table: &str, used: &str, id: i64) -> sqlx::Result<Deletion> {
    let (deleted, users, existed): (Option<String>, Vec<String>, bool) = sqlx::query_as(&format!(
        "with users as (select coalesce(array_agg(name order by name), '{{}}') as rules from alert_rules where {used}), \
              gone as (delete from {table} where id = $1 and (select cardinality(rules) = 0 from users) returning name) \
         select (select name from gone), (select rules from users), exists (select from {table} where id = $1)"
    ))
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok(match deleted {
        Some(name) => Deletion::Deleted(name),
        None if existed => Deletion::InUse(users),
        None => Deletion::Missing,
    })
}

/// `fields` as the columns of a statement, each after `prefix` (`"s."`):
/// a definition's fields are named as its table's columns.
fn columns(fields: &[&str], prefix: &str) -> String {
    fields.iter().map(|field| format!("{prefix}{field}")).collect::<Vec<_>>().join(", ")
}

/// "$1, $2, …" for the argument numbers `numbers`.
fn placeholders(numbers: impl IntoIterator<Item = usize>) -> String {
    numbers.into_iter().map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// Settings of every connection Vigil opens, to the primary or a replica.
/// - JIT compilation costs tens of milliseconds per query that crosses its
///   cost threshold, more than it saves on the explorer's short queries.
/// - A random page read costs about what a sequential one does where the
///   store is on SSD and mostly cached (the default, 4, is for spinning
///   disks). At 4, a day's chart of a word read the day's every event in time
///   order rather than the word's matches (103–120 against 43–56 ms at 10 M
///   events) once the time index was small enough to look cheap.
/// - A transaction left open would hold back the ledger's watermark (export
///   and deriving wait behind it): Vigil's own never idle for long.
/// - 16 MB per sort or hash (default 4): a week's chart of a word sorted its
///   66 000 matches on disk and made part of its bitmap lossy (220 → 200 ms).
pub const SESSION_SETTINGS: [(&str, &str); 4] = [
    ("jit", "off"),
    ("random_page_cost", "1.1"),
    ("work_mem", "16MB"),
    ("idle_in_transaction_session_timeout", "60s"),
];

/// Connect, run pending migrations and make sure the coming months have partitions.
#[tracing::instrument(skip_all)]
pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(&config.database_url)?.options(SESSION_SETTINGS);
    let pool = PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Advisory lock held while one instance migrates ("vigilmig").
const MIGRATE_LOCK: i64 = 0x7669_6769_6c6d_6967;

/// Apply the migrations in `migrations/` and create partitions for this month
/// and the next three. Instances starting together take turns (an advisory
/// lock), so their grants and partitions do not race.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut lock = pool.acquire().await?;
    sqlx::query("select pg_advisory_lock($1)").bind(MIGRATE_LOCK).execute(&mut *lock).await?;
    let migrated = migrate_now(pool).await;
    // Released on every path: a session lock outlives an error on its pooled connection.
    sqlx::query("select pg_advisory_unlock($1)").bind(MIGRATE_LOCK).execute(&mut *lock).await?;
    migrated
}

async fn migrate_now(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!().run(pool).await?;
    tower_sessions_sqlx_store::PostgresStore::new(pool.clone()).migrate().await?;
    // The console's cookie sessions are the app role's to read and write.
    sqlx::raw_sql(
        "grant usage on schema tower_sessions to vigil_app; \
         grant select, insert, update, delete on all tables in schema tower_sessions to vigil_app",
    )
    .execute(pool)
    .await?;
    let this_month = month_of(Utc::now().date_naive());
    let ahead: Vec<NaiveDate> = (0..4).map(|n| this_month + Months::new(n)).collect();
    ensure_partitions(pool, &ahead).await?;
    monitor::ensure_result_partitions(pool, &ahead).await?;
    Ok(())
}

fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// Create the monthly partitions that hold the given days, if missing. Safe to
/// call concurrently: the database function serialises creation per month.
#[tracing::instrument(skip_all)]
pub async fn ensure_partitions(pool: &PgPool, days: &[NaiveDate]) -> sqlx::Result<()> {
    let months: Vec<NaiveDate> =
        days.iter().map(|d| month_of(*d)).collect::<BTreeSet<_>>().into_iter().collect();
    sqlx::query("select vigil_ensure_month_partition(m) from unnest($1::date[]) as m")
        .bind(&months)
        .execute(pool)
        .await?;
    Ok(())
}

