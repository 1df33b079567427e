//! `GET /api/v1/health`: whether the database answers, how far the deriving
//! worker lags, and what holds the export's watermark back.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;

use crate::api::auth::{authorize_key, KeyKind};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ledger::{self, LedgerStatus};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// "ok", or "lagging" when the worker or the export waits more than 30 s.
    pub status: &'static str,
    pub ledger: LedgerStatus,
}

/// Seconds of lag from which the health endpoint says "lagging".
const LAGGING_SECONDS: f64 = 30.0;

pub async fn health(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<Health>, ApiError> {
    authorize_key(&state, &headers, peer.ip(), KeyKind::Export).await?;
    let ledger = ledger::status(&state.pool).await?;
    let derive_lag = ledger.derive_lag_seconds(chrono::Utc::now());
    let lagging = derive_lag > LAGGING_SECONDS || ledger.export_lag_seconds > LAGGING_SECONDS;
    Ok(Json(Health { status: if lagging { "lagging" } else { "ok" }, ledger }))
}
