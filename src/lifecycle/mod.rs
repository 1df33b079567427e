//! Retention: each environment keeps its events for a period (default
//! `VIGIL_RETENTION_DAYS`), enforced by dropping whole monthly partitions
//! once every environment in them has passed its period — never by DELETE.
//! A scheduled job inside the server (one instance at a time) creates the
//! coming months' partitions, archives a partition first when an archive
//! folder is set (dropping it only once the file was read back and matched),
//! records each drop in the tamper-evidence chain as a signed prune record,
//! and raises failures as events in the `vigil` environment, rebuilds the
//! indexes of a month that has ended and, once a day, the sessions'
//! ([`compact`]), and deletes the quarter-hour counts by type and the hourly
//! counts of words that are past their days (rollups, not events). [`health`]
//! says how well all of this is kept. SQL is in `store::retention`.

mod archive;
pub mod compact;
mod health;

pub use health::health;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Months, Utc};
use serde_json::json;

use crate::audit::{self, Activity, Actor};
use crate::model::{Category, Outcome, PartitionArchive, PurgeRun};
use crate::state::AppState;
use crate::store::retention::{self, Partition};
use crate::store::seal::{self, EntryKind, PruneRecord, PrunedPart};

/// Months of partitions kept ready ahead of the current one.
const MONTHS_AHEAD: u32 = 3;

/// Run until the process ends: a retention run shortly after start, then
/// every `VIGIL_PURGE_MINUTES` (never when it is 0).
pub async fn run(state: AppState) {
    if state.config.lifecycle.purge_minutes == 0 {
        return;
    }
    let every = Duration::from_secs(state.config.lifecycle.purge_minutes * 60);
    tokio::time::sleep(Duration::from_secs(10)).await;
    loop {
        if let Err(error) = scheduled(&state, every).await {
            tracing::warn!(%error, "retention run failed");
        }
        tokio::time::sleep(every).await;
    }
}

/// One scheduled run, unless another instance is running one.
async fn scheduled(state: &AppState, every: Duration) -> anyhow::Result<()> {
    let mut conn = state.pool.acquire().await?;
    if !retention::try_lock_runs(&mut conn).await? {
        return Ok(());
    }
    let result = async {
        raise_if_missed(state, every).await?;
        crate::store::access::prune_sign_in_attempts(&state.pool).await?;
        purge(state, Utc::now()).await
    }
    .await;
    // Always released: a session lock outlives an error on its pooled connection.
    retention::unlock_runs(&mut conn).await?;
    result.map(drop)
}

/// Raise `retention.purge_missed` when the last run is much older than the schedule.
async fn raise_if_missed(state: &AppState, every: Duration) -> anyhow::Result<()> {
    let now = Utc::now();
    if let Some(last) = retention::recent_runs(&state.pool, 1).await?.pop() {
        let late = now - last.started_at - chrono::Duration::from_std(every * 2)?;
        if late > chrono::Duration::minutes(5) {
            let reason = format!("the last retention run started {} hours ago", (now - last.started_at).num_hours());
            let activity = Activity::new("retention.purge_missed", Category::System).outcome(Outcome::Failure, reason);
            audit::record(state, &Actor::system(), activity).await;
        }
    }
    Ok(())
}

/// One retention run as of `now` (tests set the clock): partitions created
/// ahead, quarter-hour counts by type and hourly counts of words past their
/// days deleted (`retention::thin_recent_counts`), every partition past all its
/// environments' periods archived (if set up) and dropped, the newest month
/// due rebuilt, and once a day the sessions' indexes. Recorded in
/// `purge_runs`; a failure is also an event.
pub async fn purge(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<PurgeRun> {
    let id = retention::start_run(&state.pool, now).await?;
    let mut run = PurgeRun { started_at: now, ..Default::default() };
    let mut errors = Vec::new();
    if let Err(error) = create_ahead(state, now, &mut run).await {
        errors.push(format!("creating partitions ahead: {error}"));
    }
    if let Err(error) = crate::monitor::keep_results(state, now).await {
        errors.push(format!("check results: {error}"));
    }
    if let Err(error) = retention::thin_recent_counts(&state.owner, now).await {
        errors.push(format!("thinning quarter-hour and hourly word counts: {error}"));
    }
    match due_partitions(state, now).await {
        Ok(due) => {
            for partition in due {
                match drop_one(state, &partition).await {
                    Ok(()) => {
                        run.dropped.push(partition.name.clone());
                        run.bytes_reclaimed += partition.bytes;
                    }
                    Err(error) => errors.push(format!("{}: {error:#}", partition.name)),
                }
            }
        }
        Err(error) => errors.push(format!("listing partitions: {error}")),
    }
    if let Err(error) = compact_newest(state, now, &mut run).await {
        errors.push(format!("compacting: {error:#}"));
    }
    if let Err(error) = compact_sessions(state, now, &mut run).await {
        errors.push(format!("rebuilding the sessions' indexes: {error:#}"));
    }
    run.finished_at = Some(Utc::now().max(now));
    run.ok = Some(errors.is_empty());
    run.error = (!errors.is_empty()).then(|| errors.join("; "));
    retention::finish_run(&state.pool, id, &run).await?;
    if let Some(error) = &run.error {
        let activity = Activity::new("retention.purge_failed", Category::System).outcome(Outcome::Failure, error.clone());
        audit::record(state, &Actor::system(), activity).await;
    }
    Ok(run)
}

async fn create_ahead(state: &AppState, now: DateTime<Utc>, run: &mut PurgeRun) -> anyhow::Result<()> {
    let before: Vec<String> = retention::partitions(&state.pool).await?.into_iter().map(|p| p.name).collect();
    let today = now.date_naive();
    let months: Vec<_> = (0..=MONTHS_AHEAD).filter_map(|n| today.checked_add_months(Months::new(n))).collect();
    crate::store::ensure_partitions(&state.pool, &months).await?;
    let after = retention::partitions(&state.pool).await?;
    run.created_ahead = after.into_iter().map(|p| p.name).filter(|name| !before.contains(name)).collect();
    Ok(())
}

/// Rebuild the indexes of the newest month due, then of the tables that grow
/// with every month (one month a run; see [`compact`]).
async fn compact_newest(state: &AppState, now: DateTime<Utc>, run: &mut PurgeRun) -> anyhow::Result<()> {
    let partitions = retention::partitions(&state.pool).await?;
    let Some(partition) = compact::due(partitions, now).into_iter().next() else {
        return Ok(());
    };
    let month = compact::compact(&state.owner, &partition).await.map_err(|e| e.context(partition.name.clone()))?;
    let growing = compact::compact_growing_tables(&state.owner).await?;
    run.bytes_compacted += month.saved() + growing.saved();
    run.compacted.push(month.what);
    Ok(())
}

/// Rebuild the sessions' indexes once a day (see [`compact`]).
async fn compact_sessions(state: &AppState, now: DateTime<Utc>, run: &mut PurgeRun) -> anyhow::Result<()> {
    if !compact::sessions_due(retention::sessions_compacted_at(&state.pool).await?, now) {
        return Ok(());
    }
    let sessions = compact::compact_sessions(&state.owner).await?;
    run.bytes_compacted += sessions.saved();
    run.compacted.push(sessions.what);
    Ok(())
}

/// Each environment's period in days: its own setting, else the default (`None`: forever).
pub async fn periods(state: &AppState) -> sqlx::Result<impl Fn(&str) -> Option<i32>> {
    let set: HashMap<String, Option<i32>> = retention::policies(&state.pool).await?.into_iter().collect();
    let default = state.config.lifecycle.retention_days;
    Ok(move |environment: &str| set.get(environment).copied().unwrap_or(Some(default)))
}

/// When a partition may go: once its month's end is past the longest period
/// of the environments in it (`None` when one of them keeps forever).
pub fn drop_after(partition: &Partition, environments: &[String], period: &impl Fn(&str) -> Option<i32>) -> Option<DateTime<Utc>> {
    let longest = if environments.is_empty() {
        period("")
    } else {
        environments.iter().map(|e| period(e)).try_fold(0, |longest, days| days.map(|d| longest.max(d)))
    }?;
    Some(partition.to + chrono::Duration::days(longest.into()))
}

/// The partitions whose every environment has passed its period by `now`.
async fn due_partitions(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<Vec<Partition>> {
    let partitions = retention::partitions(&state.pool).await?;
    let environments = retention::environments_by_month(&state.pool, &partitions).await?;
    let period = periods(state).await?;
    Ok(partitions
        .into_iter()
        .zip(environments)
        .filter(|(p, envs)| drop_after(p, envs, &period).is_some_and(|at| at <= now))
        .map(|(p, _)| p)
        .collect())
}

/// The signed record of a drop: the partition, its range, its events and each
/// batch's part of them (see `store::seal`); and how many events.
async fn prune_record(state: &AppState, partition: &Partition, archived: Option<&PartitionArchive>) -> anyhow::Result<(serde_json::Value, u64)> {
    let mut conn = state.owner.acquire().await?;
    let parts = seal::partition_parts(&mut conn, partition).await?;
    let events: u64 = parts.iter().map(|(_, part)| part.events).sum();
    let record = PruneRecord {
        partition: partition.name.clone(),
        from: seal::stored_time(partition.from),
        to: seal::stored_time(partition.to),
        events: events.to_string(),
        archive_sha256: archived.and_then(|a| a.sha256.clone()),
        parts: parts.into_iter().map(|(batch_id, part)| PrunedPart { batch_id, part }).collect(),
    };
    Ok((serde_json::to_value(record)?, events))
}

/// Archive (when set up), record the drop in the chain, drop.
async fn drop_one(state: &AppState, partition: &Partition) -> anyhow::Result<()> {
    let archived = match &state.config.lifecycle.archive_dir {
        Some(dir) => match archive::write(&state.owner, partition, dir).await {
            Ok(archived) => Some(archived),
            Err(error) => {
                retention::record_archive(&state.pool, &archive::failed(partition, &error)).await?;
                return Err(error.context("archiving failed; the partition is kept"));
            }
        },
        None => None,
    };
    let (record, events) = prune_record(state, partition, archived.as_ref()).await?;
    let (bytes, root) = seal::prune_digest(&record);
    let signature = state.seal_key.sign(&bytes);

    // As the owner: the app role cannot drop what it cannot delete.
    let mut tx = state.owner.begin().await?;
    seal::lock_chain(&mut tx).await?;
    let end = seal::chain_end(&mut tx).await?;
    seal::append(&mut tx, end, EntryKind::Prune, -1, events as i64, &root, Some((&record, &signature))).await?;
    retention::drop_partition(&mut tx, partition).await?;
    tx.commit().await?;

    if let Some(mut archived) = archived {
        archived.dropped_at = Some(Utc::now());
        retention::record_archive(&state.pool, &archived).await?;
    }
    let activity = Activity::new("retention.partition_dropped", Category::System)
        .target("partition", partition.name.clone(), None)
        .details(json!({"events": events, "bytes": partition.bytes, "from": partition.from, "to": partition.to}));
    audit::record(state, &Actor::system(), activity).await;
    Ok(())
}
