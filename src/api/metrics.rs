//! `GET /api/v1/metrics`: this instance's counters and the write path's,
//! the checks' and the alerts' state in the Prometheus (OpenMetrics) text
//! format, for export keys that read every environment.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use crate::api::auth::{authorize_key, KeyKind};
use crate::error::ApiError;
use crate::metrics::Snapshot;
use crate::state::AppState;
use crate::store;

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn metrics(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Result<Response, ApiError> {
    let grant = authorize_key(&state, &headers, peer.ip(), KeyKind::Export).await?;
    if !grant.scope.is_unrestricted() {
        return Err(ApiError::Forbidden("metrics are for export keys that read every environment and organization".into()));
    }
    let snapshot = match snapshot(&state).await {
        Ok(snapshot) => Some(snapshot),
        Err(error) => {
            tracing::warn!(%error, "metrics: the database did not answer");
            None
        }
    };
    Ok(([(header::CONTENT_TYPE, OPENMETRICS)], state.metrics.render(snapshot)).into_response())
}

async fn snapshot(state: &AppState) -> sqlx::Result<Snapshot> {
    Ok(Snapshot {
        ledger: store::ledger::status(&state.pool).await?,
        services: store::monitor::state_counts(&state.pool).await?,
        alerts_firing: store::alerts::rules_firing(&state.pool).await?,
        undelivered: store::alerts::undelivered(&state.pool).await?,
    })
}
