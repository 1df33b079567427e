//! `POST /api/v1/heartbeats/{token}`: a service behind a firewall reports
//! that it is alive. The token (shown once when the service is added) is the
//! credential; wrong tokens are throttled per address like wrong API keys.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

pub async fn heartbeat(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let peer = crate::auth::client_ip(peer.ip(), &headers, &state.config.trusted_proxies);
    let by_address = format!("ip:{peer}");
    state.auth_failures.allows(&by_address)?;
    let hash = crate::monitor::token_hash(&token);
    let at = Utc::now();
    match crate::store::monitor::heartbeat(&state.pool, &hash, at).await? {
        Some((id, name)) => Ok(Json(json!({"service": {"id": id, "name": name}, "received_at": at}))),
        None => {
            state.auth_failures.charge(&by_address);
            Err(ApiError::Unauthorized("no service has this heartbeat token".into()))
        }
    }
}
