//! Purge health: each environment's period and whether its oldest event is
//! overdue, the last run and the next, failures in a row, the partitions
//! pending drop and those created ahead, and what was archived.

use chrono::{DateTime, Utc};

use super::{drop_after, periods};
use crate::model::{EnvironmentRetention, PartitionState, PurgeHealth, PurgeRun};
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
    let last_run = runs.into_iter().next();
    let next_run = next_run(state.config.lifecycle.purge_minutes, last_run.as_ref(), now);
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

/// When the next scheduled run starts: none when runs are not scheduled
/// (`VIGIL_PURGE_MINUTES` is 0), soon after start when none has run.
fn next_run(purge_minutes: u64, last_run: Option<&PurgeRun>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let every = chrono::Duration::minutes(i64::try_from(purge_minutes).ok().filter(|m| *m > 0)?);
    Some(last_run.map_or(now, |r| r.started_at + every))
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
    let events = retention::events_by_month(&state.pool, &partitions).await?;
    Ok(partitions
        .into_iter()
        .zip(by_month.into_iter().zip(events))
        .map(|(p, (environments, events))| {
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
                events,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_follows_the_last_and_there_is_none_when_runs_are_off() {
        let now = DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z").unwrap().with_timezone(&Utc);
        let last = PurgeRun { started_at: now - chrono::Duration::minutes(20), ..PurgeRun::default() };
        assert_eq!(next_run(60, Some(&last), now), Some(now + chrono::Duration::minutes(40)));
        assert_eq!(next_run(60, None, now), Some(now));
        assert_eq!(next_run(0, Some(&last), now), None);
        assert_eq!(next_run(0, None, now), None);
    }
}
