//! What a verification of the tamper-evidence chain found, for `vigil verify`
//! and the Verify page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One thing that is not as the chain and its signed checkpoints say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `edited_event`, `deleted_events`, `missing_batch`, `altered_batch`,
    /// `inserted_rows`, `truncated`, `chain_diverges`, `bad_checkpoint`,
    /// `missing_checkpoint`, `bad_prune_record`.
    pub kind: String,
    pub message: String,
    pub position: Option<i64>,
    pub batch_id: Option<i64>,
    pub event_id: Option<String>,
}

/// The result of one verification.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Chain entries walked (sealed batches and retention drops).
    pub entries: i64,
    pub events: i64,
    pub checkpoints: i64,
    pub prunes: i64,
    /// The newest valid checkpoint: its position and time.
    pub last_checkpoint: Option<(i64, DateTime<Utc>)>,
    /// Events committed but not yet covered by a checkpoint (the blind window).
    pub unsealed_events: i64,
    pub findings: Vec<Finding>,
    /// False when the run stopped at its time limit before the chain's end.
    pub complete: bool,
    pub seconds: f64,
    pub public_key: String,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// The sealer's state, for the Verify page and the health endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IntegrityStatus {
    /// Base64 of the Ed25519 public key that signs checkpoints.
    pub public_key: String,
    pub chain_entries: i64,
    pub sealed_events: i64,
    /// Position and time of the newest checkpoint.
    pub last_checkpoint: Option<(i64, DateTime<Utc>)>,
    /// Committed events the sealer has not chained yet.
    pub unsealed_events: i64,
    pub checkpoint_log: String,
    pub checkpoint_seconds: u64,
}
