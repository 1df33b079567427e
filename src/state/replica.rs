//! The read replica (`VIGIL_READ_DATABASE_URL`): its pool, and whether it may
//! answer a reader now. The watcher (`store::replication::watch`) samples the
//! primary's WAL position and the replica's replayed position every second and
//! hands both to [`Replica::observe`]; the lag in seconds is how long ago the
//! primary had written something the replica has not replayed yet, read off
//! those samples (so an idle primary is no lag, whatever the replay clock says).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::model::{ReadsServedBy, ReplicaStatus};

/// Seconds of primary positions kept at least (more when the lag bound is longer).
const HISTORY_SECONDS: f64 = 60.0;

pub struct Replica {
    pub pool: PgPool,
    max_lag_seconds: f64,
    /// The WAL position the replica has replayed, or -1 while it may not answer.
    usable_through: AtomicI64,
    watch: Mutex<Watch>,
}

struct Watch {
    /// The primary's WAL position at each sample, oldest first.
    written: VecDeque<(DateTime<Utc>, i64)>,
    status: ReplicaStatus,
}

impl Replica {
    pub fn new(pool: PgPool, max_lag_seconds: f64) -> Self {
        let status = ReplicaStatus {
            reads_served_by: ReadsServedBy::PrimaryReplicaDown,
            lag_seconds: None,
            lag_bytes: None,
            error: Some("not checked yet".into()),
            checked_at: Utc::now(),
        };
        Replica {
            pool,
            max_lag_seconds,
            usable_through: AtomicI64::new(-1),
            watch: Mutex::new(Watch { written: VecDeque::new(), status }),
        }
    }

    /// Whether the replica may answer a reader whose last change is at WAL
    /// position `after` (none: any reader).
    pub fn serves(&self, after: Option<i64>) -> bool {
        let replayed = self.usable_through.load(Ordering::Relaxed);
        replayed >= 0 && after.is_none_or(|lsn| replayed >= lsn)
    }

    pub fn status(&self) -> ReplicaStatus {
        self.watch.lock().unwrap_or_else(|e| e.into_inner()).status.clone()
    }

    /// Take one sample: the primary's position (when it answered) and the
    /// replica's replayed position (or why it did not answer).
    pub fn observe(&self, now: DateTime<Utc>, written: Option<i64>, replayed: Result<i64, String>) -> ReplicaStatus {
        let mut watch = self.watch.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(position) = written {
            watch.written.push_back((now, position));
        }
        let keep = HISTORY_SECONDS.max(2.0 * self.max_lag_seconds);
        while watch.written.front().is_some_and(|(t, _)| seconds(now - *t) > keep) {
            watch.written.pop_front();
        }
        let (status, usable_through) = match replayed {
            Err(error) => {
                let down = ReplicaStatus {
                    reads_served_by: ReadsServedBy::PrimaryReplicaDown,
                    lag_seconds: None,
                    lag_bytes: None,
                    error: Some(error),
                    checked_at: now,
                };
                (down, -1)
            }
            Ok(replayed) => {
                // The oldest position the replica has not replayed: the lag is how long ago it was written.
                let behind = watch.written.iter().find(|(_, position)| *position > replayed);
                let lag_seconds = behind.map_or(0.0, |(t, _)| seconds(now - *t));
                let lag_bytes = watch.written.back().map(|(_, position)| (position - replayed).max(0));
                let lagging = lag_seconds > self.max_lag_seconds;
                let reads_served_by = if lagging { ReadsServedBy::PrimaryReplicaLagging } else { ReadsServedBy::Replica };
                let status = ReplicaStatus { reads_served_by, lag_seconds: Some(lag_seconds), lag_bytes, error: None, checked_at: now };
                (status, if lagging { -1 } else { replayed })
            }
        };
        self.usable_through.store(usable_through, Ordering::Relaxed);
        watch.status = status.clone();
        status
    }
}

fn seconds(delta: chrono::TimeDelta) -> f64 {
    delta.num_milliseconds() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica() -> Replica {
        let options = sqlx::postgres::PgConnectOptions::new();
        Replica::new(sqlx::postgres::PgPoolOptions::new().connect_lazy_with(options), 5.0)
    }

    #[tokio::test]
    async fn lag_is_the_age_of_the_oldest_position_not_replayed() {
        let replica = replica();
        let t0 = Utc::now();
        let at = |s: i64| t0 + chrono::TimeDelta::seconds(s);
        assert!(!replica.serves(None), "not before the first sample");
        // Caught up: no lag, whoever asks.
        let status = replica.observe(at(0), Some(100), Ok(100));
        assert_eq!((status.reads_served_by, status.lag_seconds, status.lag_bytes), (ReadsServedBy::Replica, Some(0.0), Some(0)));
        assert!(replica.serves(None) && replica.serves(Some(100)) && !replica.serves(Some(101)));
        // The primary writes on, the replica stays at 100: lag grows from the first unreplayed sample.
        for s in 1..=5 {
            replica.observe(at(s), Some(100 + s * 10), Ok(100));
        }
        let status = replica.observe(at(7), Some(200), Ok(100));
        assert_eq!(status.reads_served_by, ReadsServedBy::PrimaryReplicaLagging);
        assert_eq!((status.lag_seconds, status.lag_bytes), (Some(6.0), Some(100)));
        assert!(!replica.serves(None));
        // It replays up to what the primary had at second 4: three seconds behind, usable again.
        let status = replica.observe(at(7), None, Ok(140));
        assert_eq!((status.reads_served_by, status.lag_seconds), (ReadsServedBy::Replica, Some(2.0)));
        assert!(replica.serves(Some(140)) && !replica.serves(Some(150)));
        // Down: nobody reads from it until it answers again.
        let status = replica.observe(at(8), Some(200), Err("connection refused".into()));
        assert_eq!(status.reads_served_by, ReadsServedBy::PrimaryReplicaDown);
        assert!(!replica.serves(None));
    }
}
