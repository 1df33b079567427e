//! The deriving worker: follows the ledger of committed batches below the
//! watermark, in (xid, batch_id) order, and derives from their events every
//! count rollup, the option values, names, word counts, sessions and session
//! flags. Its position is stored in the same transaction as what it derived,
//! so a crash or a restart neither loses nor counts a batch twice. One
//! instance derives at a time: the one holding the deriving lease (the others
//! try again every second, and take over within about a second when the
//! holder stops or dies); each step also takes an advisory lock, so callers
//! without the lease (the demo loader, tests) take turns with it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::lease::Lease;
use super::ledger::{self, Batch, Position};

/// The worker's row in `ledger_positions`: what it has derived.
pub const FOLLOWER: &str = "derive";
/// Events one step derives at most (whole batches; at least one batch).
const STEP_EVENTS: i64 = 20_000;

const DERIVE: &str = include_str!("derive.sql");
/// Advisory lock key held by the one running step ("vigildrv").
const DERIVE_LOCK: i64 = 0x7669_6769_6c64_7276;
/// The lease of the instance that runs the worker ("vigildrl").
pub(super) const DERIVE_LEASE: i64 = 0x7669_6769_6c64_726c;
/// How often an instance without the lease tries to take it.
const LEASE_RETRY: Duration = Duration::from_secs(1);
const FLAGS: &str = include_str!("flags.sql");

/// Run until the process ends: take the deriving lease when it is free, then,
/// while it is held, derive whatever is ready and wait a moment.
pub async fn run(pool: PgPool, idle: Duration) {
    loop {
        match Lease::try_acquire(&pool, DERIVE_LEASE).await {
            Ok(Some(lease)) => derive_while_held(&pool, lease, idle).await,
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "deriving worker: taking the lease failed; retrying"),
        }
        tokio::time::sleep(LEASE_RETRY).await;
    }
}

/// Derive until the lease's connection is lost.
async fn derive_while_held(pool: &PgPool, mut lease: Lease, idle: Duration) {
    tracing::info!("deriving worker: this instance holds the lease");
    let mut checked = std::time::Instant::now();
    loop {
        if checked.elapsed() > LEASE_RETRY {
            if !lease.held().await {
                tracing::warn!("deriving worker: the lease's connection was lost");
                return;
            }
            checked = std::time::Instant::now();
        }
        match step(pool).await {
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
            0 if !ledger::pending(pool, FOLLOWER).await? => return Ok(total),
            0 if started.elapsed() > patience => return Err(sqlx::Error::PoolTimedOut),
            0 => tokio::time::sleep(Duration::from_millis(20)).await,
            n => total += n,
        }
    }
}

/// One transaction: the next batches below the watermark, derived, and the
/// position moved past them. Returns how many events it derived.
#[tracing::instrument(skip_all)]
pub async fn step(pool: &PgPool) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    // Deriving a step may take longer than a console read is allowed, and
    // its sorts (a step's events, their names) need more than the default
    // 4 MB to stay in memory: one step runs at a time.
    sqlx::query("set local statement_timeout = '5min'").execute(&mut *tx).await?;
    sqlx::query("set local work_mem = '64MB'").execute(&mut *tx).await?;
    // An advisory lock rather than a row lock: it gives the transaction no
    // xid, so a step with nothing to do holds no one's watermark back.
    sqlx::query("select pg_advisory_xact_lock($1)").bind(DERIVE_LOCK).execute(&mut *tx).await?;
    let position = ledger::position(&mut tx, FOLLOWER).await?;
    let batches = ledger::next_batches(&mut tx, position, STEP_EVENTS).await?;
    let Some(last) = batches.last() else {
        tx.rollback().await?;
        return Ok(0);
    };
    let end = Position { xid: last.xid, batch_id: last.batch_id };
    if let Err(error) = derive(&mut tx, &batches).await {
        let _ = tx.rollback().await;
        return Err(error);
    }
    ledger::set_position(&mut tx, FOLLOWER, end).await?;
    let now = Utc::now();
    if batches.iter().any(|b| ledger::changes_past(b.first_occurred_at, now)) {
        ledger::note_past_changed(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(batches.iter().map(|b| b.events as u64).sum())
}

async fn derive(conn: &mut PgConnection, batches: &[Batch]) -> sqlx::Result<()> {
    let column = |f: fn(&Batch) -> i64| batches.iter().map(f).collect::<Vec<_>>();
    let now = Utc::now();
    let touched: (Vec<String>, Vec<String>, Vec<String>, Vec<DateTime<Utc>>) = sqlx::query_as(DERIVE)
        .bind(column(|b| b.seq_from))
        .bind(column(|b| b.seq_to))
        .bind(super::retention::quarter_counts_since(now))
        .bind(super::retention::term_hours_since(now))
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
