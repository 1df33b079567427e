//! The deriving worker: follows the ledger of committed batches below the
//! watermark, in (xid, batch_id) order, and derives from their events every
//! count rollup, the option values, names, word counts, sessions and session
//! flags. Its position is stored in the same transaction as what it derived,
//! so a crash or a restart neither loses nor counts a batch twice, and an
//! advisory lock lets only one worker (of any number of instances) run at a time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::ledger::{Batch, BATCH_COLUMNS, UNDERIVED};

/// Events one step derives at most (whole batches; at least one batch).
const STEP_EVENTS: i64 = 20_000;

const DERIVE: &str = include_str!("derive.sql");
/// Advisory lock key held by the one running step ("vigildrv").
const DERIVE_LOCK: i64 = 0x7669_6769_6c64_7276;
const FLAGS: &str = include_str!("flags.sql");

/// Where a follower of the ledger stands: every batch up to (xid, batch_id) is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub xid: i64,
    pub batch_id: i64,
}

/// Run until the process ends: derive whatever is ready, then wait a moment.
pub async fn run(pool: PgPool, idle: Duration) {
    loop {
        match step(&pool).await {
            Ok(0) => tokio::time::sleep(idle).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "deriving worker: step failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Derive every batch committed so far (the demo loader, tests): step until
/// none is left, waiting while a transaction anywhere in the cluster holds the
/// watermark back. Fails with `PoolTimedOut` after `patience`.
pub async fn catch_up(pool: &PgPool, patience: Duration) -> sqlx::Result<u64> {
    let started = std::time::Instant::now();
    let mut total = 0;
    loop {
        match step(pool).await? {
            0 if !pending(pool).await? => return Ok(total),
            0 if started.elapsed() > patience => return Err(sqlx::Error::PoolTimedOut),
            0 => tokio::time::sleep(Duration::from_millis(20)).await,
            n => total += n,
        }
    }
}

/// Whether a committed batch waits to be derived.
async fn pending(pool: &PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        &format!("select exists (select from ingest_batches b where {UNDERIVED})"),
    )
    .fetch_one(pool)
    .await
}

/// One transaction: the next batches below the watermark, derived, and the
/// position moved past them. Returns how many events it derived.
#[tracing::instrument(skip_all)]
pub async fn step(pool: &PgPool) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    // Deriving a step may take longer than a console read is allowed.
    sqlx::query("set local statement_timeout = '5min'").execute(&mut *tx).await?;
    // An advisory lock rather than a row lock: it gives the transaction no
    // xid, so a step with nothing to do holds no one's watermark back.
    sqlx::query("select pg_advisory_xact_lock($1)").bind(DERIVE_LOCK).execute(&mut *tx).await?;
    let position: Position = sqlx::query_as("select xid::text::int8, batch_id from ledger_positions where consumer = 'derive'")
        .fetch_one(&mut *tx)
        .await
        .map(|(xid, batch_id)| Position { xid, batch_id })?;
    let batches = next_batches(&mut tx, position).await?;
    let Some(last) = batches.last() else {
        tx.rollback().await?;
        return Ok(0);
    };
    let end = Position { xid: last.xid, batch_id: last.batch_id };
    if let Err(error) = derive(&mut tx, &batches).await {
        let _ = tx.rollback().await;
        return Err(error);
    }
    sqlx::query(
        "update ledger_positions set xid = $1::text::xid8, batch_id = $2, updated_at = now() where consumer = 'derive'",
    )
    .bind(end.xid.to_string())
    .bind(end.batch_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(batches.iter().map(|b| b.events as u64).sum())
}

/// The ledger rows after `position` whose transactions have all ended, in
/// order, up to about [`STEP_EVENTS`] events.
async fn next_batches(conn: &mut PgConnection, position: Position) -> sqlx::Result<Vec<Batch>> {
    sqlx::query_as(&format!(
        "select {BATCH_COLUMNS}
         from (
             select *, sum(events) over (order by xid, batch_id) - events as before
             from (
                 select * from ingest_batches
                 where (xid, batch_id) > ($1::text::xid8, $2)
                   and xid < pg_snapshot_xmin(pg_current_snapshot())
                 order by xid, batch_id
                 limit 1000
             ) next
         ) counted
         where before < $3
         order by xid, batch_id"
    ))
    .bind(position.xid.to_string())
    .bind(position.batch_id)
    .bind(STEP_EVENTS)
    .fetch_all(conn)
    .await
}

async fn derive(conn: &mut PgConnection, batches: &[Batch]) -> sqlx::Result<()> {
    let column = |f: fn(&Batch) -> i64| batches.iter().map(f).collect::<Vec<_>>();
    let touched: (Vec<String>, Vec<String>, Vec<String>, Vec<DateTime<Utc>>) = sqlx::query_as(DERIVE)
        .bind(column(|b| b.seq_from))
        .bind(column(|b| b.seq_to))
        .fetch_one(&mut *conn)
        .await?;
    if !touched.2.is_empty() {
        sqlx::query(FLAGS)
            .bind(touched.0)
            .bind(touched.1)
            .bind(touched.2)
            .bind(touched.3)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
