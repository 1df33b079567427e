//! The SQL of retention: policies per environment, the monthly partitions of
//! `events` and what is in them, dropping one (with everything derived from
//! its month) or rebuilding a closed one's indexes, the record of runs,
//! archives and rebuilds. The decisions are
//! `crate::lifecycle`'s.

use chrono::{DateTime, Months, NaiveDate, TimeZone, Utc};
use futures::TryStreamExt;
use sqlx::{Executor, PgConnection, PgPool};

use super::ledger::UNDERIVED;

pub use crate::model::{PartitionArchive, PurgeRun};

/// Each environment's retention in days, where set (`None`: forever).
pub async fn policies(pool: &PgPool) -> sqlx::Result<Vec<(String, Option<i32>)>> {
    sqlx::query_as("select environment, days from retention_policies order by environment").fetch_all(pool).await
}

/// Set an environment's retention; returns the previous setting (outer
/// `None`: there was none, the default applied).
pub async fn set_policy(pool: &PgPool, environment: &str, days: Option<i32>, by: &str) -> sqlx::Result<Option<Option<i32>>> {
    let mut tx = pool.begin().await?;
    let previous: Option<Option<i32>> = sqlx::query_scalar("select days from retention_policies where environment = $1 for update")
        .bind(environment)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query(
        "insert into retention_policies (environment, days, updated_by) values ($1, $2, $3) \
         on conflict (environment) do update set days = excluded.days, updated_by = excluded.updated_by, updated_at = now()",
    )
    .bind(environment)
    .bind(days)
    .bind(by)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(previous)
}

/// Every environment events were stored for, or a policy names.
pub async fn environments(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select environment from (select distinct unnest(environments) as environment from ingest_batches \
         union select environment from retention_policies) e order by environment",
    )
    .fetch_all(pool)
    .await
}

/// The oldest stored event of each environment, in the order given (one
/// query; each a short backward scan of the environment's time index).
pub async fn oldest_events(pool: &PgPool, environments: &[String]) -> sqlx::Result<Vec<Option<DateTime<Utc>>>> {
    sqlx::query_scalar(
        "select (select min(occurred_at) from events where environment = e.name) \
         from unnest($1::text[]) with ordinality as e(name, n) order by e.n",
    )
    .bind(environments)
    .fetch_all(pool)
    .await
}

/// One monthly partition of `events`.
#[derive(Clone, Debug, PartialEq)]
pub struct Partition {
    pub name: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bytes: i64,
    /// The planner's estimate (exact after ANALYZE).
    pub rows: i64,
    /// The last rebuild of its indexes, and its rows then (`None`: never).
    pub compacted: Option<(DateTime<Utc>, i64)>,
}

/// The month a partition named `events_YYYY_MM` holds, as its bounds.
pub fn month_bounds(name: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (year, month) = name.strip_prefix("events_")?.split_once('_')?;
    month_of_day(NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?)
}

/// The bounds of the month (the partition) a time falls in.
pub fn month_containing(time: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    month_of_day(time.date_naive()).expect("a stored time's month has bounds")
}

fn month_of_day(day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let first = super::month_of(day);
    let next = first.checked_add_months(Months::new(1))?;
    let at = |day: NaiveDate| Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"));
    Some((at(first), at(next)))
}

/// Every monthly partition, oldest first.
pub async fn partitions(pool: &PgPool) -> sqlx::Result<Vec<Partition>> {
    let rows: Vec<(String, i64, f32, Option<DateTime<Utc>>, Option<i64>)> = sqlx::query_as(
        "select c.relname::text, pg_total_relation_size(c.oid), c.reltuples, pc.compacted_at, pc.rows \
         from pg_inherits i join pg_class c on c.oid = i.inhrelid \
         left join partition_compactions pc on pc.partition = c.relname \
         where i.inhparent = 'events'::regclass order by c.relname",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, bytes, rows, compacted_at, compacted_rows)| {
            let (from, to) = month_bounds(&name)?;
            let compacted = compacted_at.zip(compacted_rows);
            Some(Partition { name, from, to, bytes, rows: rows.max(0.0) as i64, compacted })
        })
        .collect())
}

/// Rebuild a partition's indexes ([`rebuild_indexes`]) and note it with its
/// size before and after; returns the size after.
pub async fn compact_partition(conn: &mut PgConnection, partition: &Partition) -> sqlx::Result<i64> {
    rebuild_indexes(conn, &partition.name).await?;
    note_compaction(conn, &partition.name, partition.bytes).await
}

/// The sessions table, whose indexes are rebuilt on a schedule of their own
/// ([`compact_sessions`]), noted in `partition_compactions` under this name.
pub const SESSIONS: &str = "sessions";

/// Rebuild the sessions' indexes and note it; their size before and after.
/// A session's row is written again with every batch that moves it on, so
/// the entries of its index by last seen move to the newest end, where
/// leaves split in halves and are left sparse: at 10 M demo events, just
/// loaded, 24 % full (417 MB; 108 MB rebuilt), and the map of a week's
/// sessions of one organization read 15 000 pages (25.6 ms; 13.1 ms rebuilt).
pub async fn compact_sessions(conn: &mut PgConnection) -> sqlx::Result<(i64, i64)> {
    let before = total_size(conn, &[SESSIONS]).await?;
    rebuild_indexes(conn, SESSIONS).await?;
    let after = note_compaction(conn, SESSIONS, before).await?;
    Ok((before, after))
}

/// When the sessions' indexes were last rebuilt ([`compact_sessions`]).
pub async fn sessions_compacted_at(pool: &PgPool) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("select compacted_at from partition_compactions where partition = $1").bind(SESSIONS).fetch_optional(pool).await
}

/// Note that `table`'s indexes were rebuilt now, with its size before and
/// its rows and size after; returns the size after.
async fn note_compaction(conn: &mut PgConnection, table: &str, bytes_before: i64) -> sqlx::Result<i64> {
    let (bytes, rows): (i64, f32) =
        sqlx::query_as("select pg_total_relation_size(oid), reltuples from pg_class where oid = $1::regclass")
            .bind(quoted(table))
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query(
        "insert into partition_compactions (partition, compacted_at, rows, bytes_before, bytes_after) \
         values ($1, now(), $2, $3, $4) \
         on conflict (partition) do update set compacted_at = excluded.compacted_at, rows = excluded.rows, \
             bytes_before = excluded.bytes_before, bytes_after = excluded.bytes_after",
    )
    .bind(table)
    .bind(rows.max(0.0) as i64)
    .bind(bytes_before)
    .bind(bytes)
    .execute(&mut *conn)
    .await?;
    Ok(bytes)
}

/// Rebuild the indexes of the tables outside the monthly partitions that grow
/// with the events, filled in no order like a month's: the id ledger and the
/// counts by time ([`DERIVED_BY_TIME`]). Measured on 1 M demo events: 1 056 MB,
/// 800 MB rebuilt. Their size before and after.
pub async fn compact_growing_tables(conn: &mut PgConnection) -> sqlx::Result<(i64, i64)> {
    let tables: Vec<&str> = std::iter::once("event_ids").chain(DERIVED_BY_TIME.map(|(table, _)| table)).collect();
    rebuild_measured(conn, &tables).await
}

/// Rebuild the indexes of `tables` (named as in this module); their size
/// together before and after.
async fn rebuild_measured(conn: &mut PgConnection, tables: &[&str]) -> sqlx::Result<(i64, i64)> {
    let before = total_size(conn, tables).await?;
    for table in tables {
        rebuild_indexes(conn, table).await?;
    }
    Ok((before, total_size(conn, tables).await?))
}

/// The size of `tables` together, their indexes and TOAST included.
async fn total_size(conn: &mut PgConnection, tables: &[&str]) -> sqlx::Result<i64> {
    sqlx::query_scalar("select sum(pg_total_relation_size(t))::int8 from unnest($1::regclass[]) t").bind(tables).fetch_one(conn).await
}

/// Rebuild a table's indexes without blocking reads or writes (REINDEX
/// CONCURRENTLY, which assigns no transaction id and so never holds the
/// ledger's watermark back). Needs the owner's connection, and no
/// transaction: the rebuild commits in steps. Indexes a failed rebuild left
/// behind (invalid `…_ccnew`/`…_ccold`) are dropped first.
async fn rebuild_indexes(conn: &mut PgConnection, table: &str) -> sqlx::Result<()> {
    sqlx::query("set statement_timeout = 0").execute(&mut *conn).await?;
    let rebuilt = async {
        let leftovers: Vec<String> = sqlx::query_scalar(
            "select x.indexrelid::regclass::text from pg_index x join pg_class c on c.oid = x.indexrelid \
             where x.indrelid = $1::regclass and not x.indisvalid and c.relname ~ '_cc(new|old)[0-9]*$'",
        )
        .bind(quoted(table))
        .fetch_all(&mut *conn)
        .await?;
        for index in leftovers {
            conn.execute(format!("drop index concurrently if exists {index}").as_str()).await?;
        }
        conn.execute(format!("reindex table concurrently {}", quoted(table)).as_str()).await.map(drop)
    }
    .await;
    sqlx::query("reset statement_timeout").execute(&mut *conn).await?;
    rebuilt
}

/// A table's name, quoted for SQL (it comes from the catalog or this module, never from a request).
pub(super) fn quoted(table: &str) -> String {
    format!("\"{}\"", table.replace('"', "\"\""))
}

/// The environments with events in each partition's month: from the daily
/// counts, and for batches the deriving worker has not counted yet from their
/// ledger rows (every month from their first event's to their last's), so
/// that a partition is never thought to hold fewer environments than it does.
pub async fn environments_by_month(pool: &PgPool, partitions: &[Partition]) -> sqlx::Result<Vec<Vec<String>>> {
    let from: Vec<DateTime<Utc>> = partitions.iter().map(|p| p.from).collect();
    let to: Vec<DateTime<Utc>> = partitions.iter().map(|p| p.to).collect();
    let rows: Vec<(i32, Vec<String>)> = sqlx::query_as(&format!(
        "select m.n::int4, array( \
             select distinct environment from event_counts_daily_coarse \
             where day >= (m.from_at at time zone 'UTC')::date and day < (m.to_at at time zone 'UTC')::date \
             union \
             select e from ingest_batches b, unnest(b.environments) e \
             where {UNDERIVED} and b.first_occurred_at < m.to_at and b.last_occurred_at >= m.from_at \
             order by 1) \
         from unnest($1::timestamptz[], $2::timestamptz[]) with ordinality as m(from_at, to_at, n) order by m.n"
    ))
    .bind(&from)
    .bind(&to)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(_, environments)| environments).collect())
}

/// The events each partition holds, as the deriving worker counted them
/// (the daily counts: exact, and current but for the batches not yet
/// derived; the planner's estimate reads 0 until a month is first analysed).
pub async fn events_by_month(pool: &PgPool, partitions: &[Partition]) -> sqlx::Result<Vec<i64>> {
    let from: Vec<DateTime<Utc>> = partitions.iter().map(|p| p.from).collect();
    let to: Vec<DateTime<Utc>> = partitions.iter().map(|p| p.to).collect();
    sqlx::query_scalar(
        "select (select coalesce(sum(events), 0) from event_counts_daily_coarse \
                 where day >= (m.from_at at time zone 'UTC')::date and day < (m.to_at at time zone 'UTC')::date)::int8 \
         from unnest($1::timestamptz[], $2::timestamptz[]) with ordinality as m(from_at, to_at, n) order by m.n",
    )
    .bind(&from)
    .bind(&to)
    .fetch_all(pool)
    .await
}

/// A condition that reads one partition through a view of `events` (`$1`,
/// `$2`: the partition's bounds, which prune the others).
pub const IN_PARTITION: &str = "occurred_at >= $1 and occurred_at < $2";

/// A partition's events as JSON lines, in `seq` order, to `each`: every
/// column, the client's included (as rows held it before migration 28).
pub async fn stream_rows_json(
    conn: &mut PgConnection,
    partition: &Partition,
    mut each: impl FnMut(&str) -> std::io::Result<()>,
) -> anyhow::Result<u64> {
    let sql = format!("select row_to_json(e)::text from events_with_client e where {IN_PARTITION} order by seq");
    let mut rows = sqlx::query_scalar::<_, String>(&sql).bind(partition.from).bind(partition.to).fetch(conn);
    let mut count = 0;
    while let Some(line) = rows.try_next().await? {
        each(&line)?;
        count += 1;
    }
    Ok(count)
}

/// Drop a partition and what was derived from its month, in the caller's
/// transaction. Waits at most `lock_timeout` for readers of `events`.
pub async fn drop_partition(conn: &mut PgConnection, partition: &Partition) -> sqlx::Result<()> {
    sqlx::query("set local lock_timeout = '10s'").execute(&mut *conn).await?;
    sqlx::query(&format!("drop table {}", quoted(&partition.name))).execute(&mut *conn).await?;
    sqlx::query("delete from partition_compactions where partition = $1").bind(&partition.name).execute(&mut *conn).await?;
    for (table, column) in DERIVED_BY_TIME {
        sqlx::query(&format!("delete from {table} where {column} >= $1 and {column} < $2"))
            .bind(partition.from)
            .bind(partition.to)
            .execute(&mut *conn)
            .await?;
    }
    super::ledger::note_past_changed(conn).await
}

/// Days of quarter-hour counts by type, app and outcome (`event_counts_quarter`)
/// that are kept: they answer charts with 15-minute bars (ranges of 6 to 24
/// hours) with those filters. The deriving worker writes none for events
/// older than this and the retention run deletes those that age past it
/// (with a day's margin); such a chart of an older day counts its events
/// instead. The coarse quarter-hour counts (environment, organization,
/// category) are kept as long as the events.
pub const QUARTER_COUNTS_DAYS: i64 = 35;

/// From when on the quarter-hour counts by type, app and outcome are whole.
pub fn quarter_counts_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::days(QUARTER_COUNTS_DAYS)
}

/// Days of hourly counts of words (`term_counts_hourly`) that are kept: they
/// answer charts of one word with bars of hours (ranges of 36 hours to 8
/// days), the last 7 days among them, and with their counts per quarter hour
/// bars of 15 minutes (ranges of 6 to 24 hours), the last 24 hours among
/// them. Written and deleted as the quarter-hour counts by type are
/// ([`QUARTER_COUNTS_DAYS`]); such a chart of an older day counts its events
/// instead. ≈1.2 rows per event, ten times the daily counts of words, hence
/// days rather than months.
pub const TERM_HOURS_DAYS: i64 = 8;

/// From when on the hourly counts of words are whole.
pub fn term_hours_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::days(TERM_HOURS_DAYS)
}

/// Delete the quarter-hour counts by type, app and outcome and the hourly
/// counts of words a day older than they are kept ([`QUARTER_COUNTS_DAYS`],
/// [`TERM_HOURS_DAYS`]; readers stop using them a day earlier); the rows deleted.
pub async fn thin_recent_counts(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let day = chrono::Duration::days(1);
    let mut deleted = 0;
    for (table, column, since) in [
        ("event_counts_quarter", "quarter", quarter_counts_since(now)),
        ("term_counts_hourly", "hour", term_hours_since(now)),
    ] {
        let statement = format!("delete from {table} where {column} < $1");
        deleted += sqlx::query(&statement).bind(since - day).execute(pool).await?.rows_affected();
    }
    Ok(deleted)
}

/// Tables derived from events by time, and their time column: a dropped
/// month's rows go with it, so that the chart never counts events that are
/// gone, and no client is kept without its events.
const DERIVED_BY_TIME: [(&str, &str); 11] = [
    ("event_counts_quarter", "quarter"),
    ("event_counts_quarter_coarse", "quarter"),
    ("event_counts", "hour"),
    ("event_counts_coarse", "hour"),
    ("event_counts_daily", "day"),
    ("event_counts_daily_coarse", "day"),
    ("event_values", "day"),
    ("term_counts_daily", "day"),
    ("term_counts_hourly", "hour"),
    ("actor_counts_daily", "day"),
    ("event_clients", "month"),
];

/// Advisory lock of the one retention run in progress ("vigilret").
const RUN_LOCK: i64 = 0x7669_6769_6c72_6574;

/// Take the run lock on this connection (held until [`unlock_runs`]); false
/// when another instance holds it.
pub async fn try_lock_runs(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar("select pg_try_advisory_lock($1)").bind(RUN_LOCK).fetch_one(conn).await
}

pub async fn unlock_runs(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_unlock($1)").bind(RUN_LOCK).execute(conn).await.map(drop)
}

pub async fn start_run(pool: &PgPool, at: DateTime<Utc>) -> sqlx::Result<i64> {
    sqlx::query_scalar("insert into purge_runs (started_at) values ($1) returning id").bind(at).fetch_one(pool).await
}

pub async fn finish_run(pool: &PgPool, id: i64, run: &PurgeRun) -> sqlx::Result<()> {
    sqlx::query(
        "update purge_runs set finished_at = $2, ok = $3, error = $4, dropped = $5, bytes_reclaimed = $6, \
         created_ahead = $7, compacted = $8, bytes_compacted = $9 where id = $1",
    )
    .bind(id)
    .bind(run.finished_at)
    .bind(run.ok)
    .bind(&run.error)
    .bind(&run.dropped)
    .bind(run.bytes_reclaimed)
    .bind(&run.created_ahead)
    .bind(&run.compacted)
    .bind(run.bytes_compacted)
    .execute(pool)
    .await
    .map(drop)
}

/// The newest runs, newest first.
pub async fn recent_runs(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<PurgeRun>> {
    sqlx::query_as(
        "select started_at, finished_at, ok, error, dropped, bytes_reclaimed, created_ahead, compacted, bytes_compacted \
         from purge_runs order by started_at desc, id desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn record_archive(pool: &PgPool, archive: &PartitionArchive) -> sqlx::Result<()> {
    sqlx::query(
        "insert into partition_archives (partition, range_from, range_to, path, rows, bytes, sha256, archived_at, dropped_at, error) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         on conflict (partition) do update set path = excluded.path, rows = excluded.rows, bytes = excluded.bytes, \
             sha256 = excluded.sha256, archived_at = excluded.archived_at, dropped_at = excluded.dropped_at, error = excluded.error",
    )
    .bind(&archive.partition)
    .bind(archive.range_from)
    .bind(archive.range_to)
    .bind(&archive.path)
    .bind(archive.rows)
    .bind(archive.bytes)
    .bind(&archive.sha256)
    .bind(archive.archived_at)
    .bind(archive.dropped_at)
    .bind(&archive.error)
    .execute(pool)
    .await
    .map(drop)
}

pub async fn archives(pool: &PgPool) -> sqlx::Result<Vec<PartitionArchive>> {
    sqlx::query_as(
        "select partition, range_from, range_to, path, rows, bytes, sha256, archived_at, dropped_at, error \
         from partition_archives order by range_from desc",
    )
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_name_gives_its_month() {
        let (from, to) = month_bounds("events_2025_12").unwrap();
        assert_eq!(from.to_rfc3339(), "2025-12-01T00:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(month_bounds("events_default"), None);
    }
}
