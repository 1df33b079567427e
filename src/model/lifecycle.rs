//! Retention and purge health, as the Data page and the health endpoint show them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One retention run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct PurgeRun {
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `None` while running.
    pub ok: Option<bool>,
    pub error: Option<String>,
    /// Partitions dropped.
    pub dropped: Vec<String>,
    pub bytes_reclaimed: i64,
    /// Partitions created ahead of time by this run.
    pub created_ahead: Vec<String>,
    /// Closed months whose indexes this run rebuilt (see `lifecycle::compact`).
    pub compacted: Vec<String>,
    /// Bytes the rebuilds gave back.
    pub bytes_compacted: i64,
}

/// A partition archived (or not) before its drop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct PartitionArchive {
    pub partition: String,
    pub range_from: DateTime<Utc>,
    pub range_to: DateTime<Utc>,
    pub path: Option<String>,
    pub rows: Option<i64>,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub archived_at: Option<DateTime<Utc>>,
    pub dropped_at: Option<DateTime<Utc>>,
    /// Why archiving failed (the partition was kept).
    pub error: Option<String>,
}

/// An environment's retention and how well it is kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EnvironmentRetention {
    pub environment: String,
    /// `None`: kept forever.
    pub days: Option<i32>,
    /// Whether the default period applies (no setting of its own).
    pub is_default: bool,
    pub oldest_event: Option<DateTime<Utc>>,
    /// Days by which the oldest event's month is past its period (0: on time).
    pub overdue_days: i64,
}

/// A monthly partition and when it may go.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PartitionState {
    pub name: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub bytes: i64,
    /// Its events, as the deriving worker counted them.
    pub events: i64,
    pub environments: Vec<String>,
    /// When every environment in it has passed its period (`None`: one keeps forever).
    pub drop_after: Option<DateTime<Utc>>,
    /// Past `drop_after` and still here.
    pub pending: bool,
    /// Its month has not begun yet.
    pub ahead: bool,
    /// When its indexes were last rebuilt (`None`: never).
    pub compacted_at: Option<DateTime<Utc>>,
}

/// Everything an administrator needs to trust that purging works.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PurgeHealth {
    /// "ok", "overdue" or "failing".
    pub status: String,
    pub default_days: i32,
    pub environments: Vec<EnvironmentRetention>,
    pub last_run: Option<PurgeRun>,
    pub next_run: Option<DateTime<Utc>>,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub partitions: Vec<PartitionState>,
    pub archives: Vec<PartitionArchive>,
    pub archive_dir: Option<String>,
}

impl PurgeHealth {
    pub fn pending(&self) -> impl Iterator<Item = &PartitionState> {
        self.partitions.iter().filter(|p| p.pending)
    }

    pub fn ahead(&self) -> impl Iterator<Item = &PartitionState> {
        self.partitions.iter().filter(|p| p.ahead)
    }
}
