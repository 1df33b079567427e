//! Purge health: each environment's period and whether its oldest event is
//! overdue, the last run and the next, failures in a row, the partitions
//! pending drop and those created ahead, and what was archived.

use chrono::{DateTime, Utc};

use super::{drop_after, periods};
use crate::model::{EnvironmentRetention, PartitionState, PurgeHealth};
use crate::state::AppState;
use crate::store::retention;

/// Runs looked at for failures in a row.
const RECENT_RUNS: i64 = 50;

pub async fn health(state: &AppState, now: DateTime<Utc>) -> sqlx::Result<PurgeHealth> {
    let period = periods(state).await?;
    let environments = environments(state, now, &period).await?;
    let partitions = partitions(state, now, &period).await?;
    let runs = retention::recent_runs(&state.pool, RECENT_RUNS).await?;
    let consecutive_failures = runs.iter().take_while(|r| r.ok == Some(false)).count() as i64;
    let last_error = runs.iter().find_map(|r| r.error.clone());
    let every = chrono::Duration::minutes(state.config.lifecycle.purge_minutes as i64);
    let last_run = runs.into_iter().next();
    let next_run = Some(last_run.as_ref().map_or(now, |r| r.started_at + every));
    let status = if consecutive_failures > 0 {
        "failing"
    } else if environments.iter().any(|e| e.overdue_days > 0) || partitions.iter().any(|p| p.pending) {
        "overdue"
    } else {
        "ok"
    };
    Ok(PurgeHealth {
        status: status.into(),
        default_days: state.config.lifecycle.retention_days,
        environments,
        last_run,
        next_run,
        consecutive_failures,
        last_error,
        partitions,
        archives: retention::archives(&state.pool).await?,
        archive_dir: state.config.lifecycle.archive_dir.as_ref().map(|d| d.display().to_string()),
    })
}

/// Each environment's period, oldest event, and how overdue it is.
async fn environments(state: &AppState, now: DateTime<Utc>, period: &impl Fn(&str) -> Option<i32>) -> sqlx::Result<Vec<EnvironmentRetention>> {
    let set: Vec<String> = retention::policies(&state.pool).await?.into_iter().map(|(e, _)| e).collect();
    let names = retention::environments(&state.pool).await?;
    let oldest = retention::oldest_events(&state.pool, &names).await?;
    Ok(names
        .into_iter()
        .zip(oldest)
        .map(|(environment, oldest_event)| {
            let days = period(&environment);
            let overdue_days = match (days, oldest_event) {
                (Some(days), Some(oldest)) => {
                    let (_, month_end) = retention::month_containing(oldest);
                    (now - month_end - chrono::Duration::days(days.into())).num_days().max(0)
                }
                _ => 0,
            };
            EnvironmentRetention { is_default: !set.contains(&environment), environment, days, oldest_event, overdue_days }
        })
        .collect())
}

/// Every partition with its environments and when it may go.
async fn partitions(state: &AppState, now: DateTime<Utc>, period: &impl Fn(&str) -> Option<i32>) -> sqlx::Result<Vec<PartitionState>> {
    let partitions = retention::partitions(&state.pool).await?;
    let by_month = retention::environments_by_month(&state.pool, &partitions).await?;
    Ok(partitions
        .into_iter()
        .zip(by_month)
        .map(|(p, environments)| {
            let drop_after = drop_after(&p, &environments, period);
            PartitionState {
                pending: drop_after.is_some_and(|at| at <= now),
                ahead: p.from > now,
                drop_after,
                environments,
                compacted_at: p.compacted.map(|(at, _)| at),
                name: p.name,
                from: p.from,
                to: p.to,
                bytes: p.bytes,
                rows: p.rows,
            }
        })
        .collect())
}
