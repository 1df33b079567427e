//! `GET /api/v1/health`: whether the database answers, how far the deriving
//! worker lags, what holds the export's watermark back, and (for keys that
//! read everything) purge health and the sealer's state.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;

use crate::api::auth::{authorize_key, KeyKind};
use crate::error::ApiError;
use crate::state::AppState;
use crate::model::{Deployment, IntegrityStatus, PurgeHealth, ReadsServedBy};
use crate::store::ledger::{self, LedgerStatus};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// "ok"; "lagging" when the worker or the export waits more than 30 s;
    /// "purge_failing" or "purge_overdue" when retention is not kept;
    /// "replica_lagging" or "replica_down" when console reads fell back to the primary.
    pub status: &'static str,
    pub ledger: LedgerStatus,
    /// Retention and purge health (keys that may read every environment only).
    pub retention: Option<PurgeHealth>,
    /// The sealer: chain length, newest checkpoint (unrestricted keys only).
    pub integrity: Option<IntegrityStatus>,
    /// The instances sharing the database and the read replica (unrestricted keys only).
    pub deployment: Option<Deployment>,
}

/// Seconds of lag from which the health endpoint says "lagging".
const LAGGING_SECONDS: f64 = 30.0;

pub async fn health(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<Health>, ApiError> {
    let grant = authorize_key(&state, &headers, peer.ip(), KeyKind::Export).await?;
    let now = chrono::Utc::now();
    let ledger = ledger::status(&state.pool).await?;
    let derive_lag = ledger.derive_lag_seconds(now);
    let lagging = derive_lag > LAGGING_SECONDS || ledger.export_lag_seconds > LAGGING_SECONDS;
    let (retention, integrity, deployment) = if grant.scope.is_unrestricted() {
        let retention = crate::lifecycle::health(&state, now).await?;
        let integrity = crate::integrity::status(&state.pool, &state.seal_key, &state.config.lifecycle).await?;
        let deployment = crate::store::replication::deployment(&state).await?;
        (Some(retention), Some(integrity), Some(deployment))
    } else {
        (None, None, None)
    };
    let reads = state.replica.as_ref().map(|r| r.status().reads_served_by);
    let status = match retention.as_ref().map(|r| r.status.as_str()) {
        _ if lagging => "lagging",
        Some("failing") => "purge_failing",
        Some("overdue") => "purge_overdue",
        _ if reads == Some(ReadsServedBy::PrimaryReplicaLagging) => "replica_lagging",
        _ if reads == Some(ReadsServedBy::PrimaryReplicaDown) => "replica_down",
        _ => "ok",
    };
    Ok(Json(Health { status, ledger, retention, integrity, deployment }))
}
