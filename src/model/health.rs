//! The state of the write path, for the health endpoint and the settings page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A backend whose open transaction holds the ledger's watermark back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WatermarkHolder {
    pub pid: i32,
    /// Seconds since its transaction began.
    pub age_seconds: f64,
    pub state: Option<String>,
    pub application_name: Option<String>,
}

/// How far the deriving worker and the export lag behind the writers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LedgerStatus {
    /// When the oldest batch the worker has not derived yet was received
    /// (`None`: everything committed is derived).
    pub underived_since: Option<DateTime<Utc>>,
    /// Events committed but not derived yet (in the next 1 000 batches).
    pub underived_events: i64,
    /// Seconds the export and the worker wait behind the oldest open write
    /// transaction (0 when none is older than a second).
    pub export_lag_seconds: f64,
    /// That transaction's backend, when it is older than a second.
    pub watermark_holder: Option<WatermarkHolder>,
}

impl LedgerStatus {
    /// Seconds since the oldest underived batch was received, at `now`.
    pub fn derive_lag_seconds(&self, now: DateTime<Utc>) -> f64 {
        self.underived_since.map_or(0.0, |t| ((now - t).num_milliseconds() as f64 / 1000.0).max(0.0))
    }
}

/// Where console reads go, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReadsServedBy {
    /// The replica answers and is within the allowed lag.
    Replica,
    /// The replica lags more than `VIGIL_READ_MAX_LAG_SECONDS`: the primary serves until it catches up.
    PrimaryReplicaLagging,
    /// The replica does not answer: the primary serves.
    PrimaryReplicaDown,
}

/// The streaming replica console reads go to (`VIGIL_READ_DATABASE_URL`), as
/// last checked (every second).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReplicaStatus {
    pub reads_served_by: ReadsServedBy,
    /// How long ago the primary had written what the replica has replayed by now.
    pub lag_seconds: Option<f64>,
    /// WAL bytes the primary has written that the replica has not replayed yet.
    pub lag_bytes: Option<i64>,
    /// Why the replica is not used, when it does not answer.
    pub error: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// The instances sharing the database, and where background work runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Deployment {
    /// This instance's name (`VIGIL_INSTANCE`, default host and pid).
    pub instance: String,
    /// Every instance with a connection to the primary now, by name.
    pub instances: Vec<String>,
    /// The instance holding the deriving lease (none while no instance runs the worker).
    pub deriving: Option<String>,
    /// The read replica, when one is configured.
    pub replica: Option<ReplicaStatus>,
}

/// What the ingest API received lately (every instance's, from the ledger)
/// and what this instance rejected since it started.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestActivity {
    /// Events committed in the last minute, hour and 24 hours.
    pub last_minute: i64,
    pub last_hour: i64,
    pub last_day: i64,
    /// Batches committed in the last 24 hours.
    pub batches_last_day: i64,
    /// Each environment that sent in the last 7 days and when the newest
    /// batch holding its events was received, the longest quiet first.
    pub environments: Vec<(String, DateTime<Utc>)>,
    /// Events this instance rejected since it started.
    pub rejected_since_start: u64,
    /// The newest rejected events of every instance, newest first
    /// ([`RECENT_REJECTIONS`] at most).
    pub rejections: Vec<RecentRejection>,
}

/// Rejected events the Write path page lists, to show why a sender's events are missing.
pub const RECENT_REJECTIONS: i64 = 20;
/// Rejected events kept, of every instance together (`store::rejections`).
pub const KEPT_REJECTIONS: i64 = 1_000;

/// Why one item of a batch was not stored: its place in the batch, the
/// field at fault (if one is) and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Rejection {
    pub index: usize,
    pub field: Option<String>,
    pub error: String,
}

/// An event the ingest API rejected: when, by which instance, from whom, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecentRejection {
    pub at: DateTime<Utc>,
    pub instance: String,
    /// The key ("operator ingest key", or the name and id of one of Settings
    /// → API keys) and the sender's address (behind a trusted proxy, the
    /// client's it forwarded).
    pub key: String,
    pub address: String,
    #[serde(flatten)]
    pub rejection: Rejection,
}

/// What Settings → Write path shows, and when it was read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WritePath {
    pub read_at: DateTime<Utc>,
    pub ledger: LedgerStatus,
    pub ingest: IngestActivity,
    pub deployment: Deployment,
}
