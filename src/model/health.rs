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
