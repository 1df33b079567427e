//! Compaction: once a month has ended, its partition's indexes are rebuilt
//! (migration 26 says why: leaves filled in no order are half empty), and
//! with it those of the id ledger and the rollups, which fill the same way.
//! One partition per scheduled retention run, newest first, so that the work
//! is spread out; `vigil compact` does every due one at once. The sessions'
//! indexes, whose rows are written again as each session goes on, are
//! rebuilt once a day instead. SQL is in `store::retention`.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::store::retention::{self, Partition};

/// How long after its month ends a partition is rebuilt: late events still
/// trickle in for a while.
const SETTLE: Duration = Duration::days(1);

/// A rebuilt partition grown by more than this share since is rebuilt again.
const REGROWTH: f64 = 0.1;

/// How often the sessions' indexes are rebuilt.
const SESSIONS_EVERY: Duration = Duration::days(1);

/// What one rebuild did.
pub struct Compaction {
    /// The partition, or what else was rebuilt.
    pub what: String,
    pub bytes_before: i64,
    pub bytes_after: i64,
    pub seconds: f64,
}

impl Compaction {
    /// A rebuild of `what` started at `started`, with its size before and after.
    fn done(what: &str, started: Instant, (bytes_before, bytes_after): (i64, i64)) -> Compaction {
        Compaction { what: what.to_string(), bytes_before, bytes_after, seconds: started.elapsed().as_secs_f64() }
    }

    /// The bytes the rebuild saved.
    pub fn saved(&self) -> i64 {
        self.bytes_before - self.bytes_after
    }
}

/// The partitions due for a rebuild at `now`, newest month first: ended at
/// least [`SETTLE`] ago, with rows, and never rebuilt or grown by more than
/// [`REGROWTH`] since.
pub fn due(partitions: Vec<Partition>, now: DateTime<Utc>) -> Vec<Partition> {
    let mut due: Vec<Partition> = partitions
        .into_iter()
        .filter(|p| p.to + SETTLE <= now && p.rows > 0)
        .filter(|p| p.compacted.is_none_or(|(_, rows)| p.rows as f64 > rows as f64 * (1.0 + REGROWTH)))
        .collect();
    due.sort_by(|a, b| b.from.cmp(&a.from));
    due
}

/// Rebuild one partition's indexes, as the owner (`owner`: the pool of the
/// role that logs in, which owns the partitions).
pub async fn compact(owner: &PgPool, partition: &Partition) -> anyhow::Result<Compaction> {
    let started = Instant::now();
    let mut conn = owner.acquire().await?;
    let bytes_after = retention::compact_partition(&mut conn, partition).await?;
    Ok(Compaction::done(&partition.name, started, (partition.bytes, bytes_after)))
}

/// Rebuild the indexes of the id ledger and the rollups (after a month's).
pub async fn compact_growing_tables(owner: &PgPool) -> anyhow::Result<Compaction> {
    let started = Instant::now();
    let mut conn = owner.acquire().await?;
    let sizes = retention::compact_growing_tables(&mut conn).await?;
    Ok(Compaction::done("the id ledger and the rollups", started, sizes))
}

/// Whether the sessions' indexes, last rebuilt at `last` (if ever), are due
/// for a rebuild at `now`.
pub fn sessions_due(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last.is_none_or(|last| last + SESSIONS_EVERY <= now)
}

/// Rebuild the sessions' indexes, as the owner.
pub async fn compact_sessions(owner: &PgPool) -> anyhow::Result<Compaction> {
    let started = Instant::now();
    let mut conn = owner.acquire().await?;
    let sizes = retention::compact_sessions(&mut conn).await?;
    Ok(Compaction::done(retention::SESSIONS, started, sizes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(name: &str, rows: i64, compacted_rows: Option<i64>) -> Partition {
        let (from, to) = retention::month_bounds(name).unwrap();
        let compacted = compacted_rows.map(|rows| (to, rows));
        Partition { name: name.into(), from, to, bytes: 1, rows, compacted }
    }

    #[test]
    fn closed_months_are_due_newest_first_once_settled() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").unwrap().to_utc();
        let partitions = vec![
            partition("events_2026_09", 10, None),
            partition("events_2026_10", 10, None),
            // Ended twelve hours ago: late events may still come.
            partition("events_2026_11", 10, None),
            partition("events_2026_12", 10, None),
        ];
        let names: Vec<String> = due(partitions, now).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["events_2026_10", "events_2026_09"]);
        let later = now + Duration::days(1);
        let names: Vec<String> = due(vec![partition("events_2026_11", 10, None)], later).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["events_2026_11"]);
    }

    #[test]
    fn the_sessions_are_due_when_never_rebuilt_or_a_day_after() {
        let now = DateTime::parse_from_rfc3339("2026-12-05T08:00:00Z").unwrap().to_utc();
        assert!(sessions_due(None, now));
        assert!(!sessions_due(Some(now - Duration::hours(23)), now));
        assert!(sessions_due(Some(now - Duration::hours(24)), now));
    }

    #[test]
    fn a_rebuilt_month_is_due_again_only_once_it_grew_by_a_tenth() {
        let now = DateTime::parse_from_rfc3339("2026-12-05T00:00:00Z").unwrap().to_utc();
        let partitions = vec![
            partition("events_2026_08", 0, None),
            partition("events_2026_09", 1_100, Some(1_000)),
            partition("events_2026_10", 1_101, Some(1_000)),
        ];
        let names: Vec<String> = due(partitions, now).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["events_2026_10"], "empty months and those grown by a tenth or less are left");
    }
}
