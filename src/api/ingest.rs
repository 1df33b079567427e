//! `POST /api/v1/events`: the ingest endpoint described in DESIGN.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Serialize;

use crate::api::auth::{authorize_key, KeyKind};
use crate::audit;
use crate::error::ApiError;
use crate::ingest::rules::Rules;
use crate::ingest::{self, BodyError, Rejection};
use crate::state::AppState;
use crate::store;

/// What happened to a batch: counts, and each rejected item with its field and reason.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestReply {
    pub accepted: u64,
    pub duplicates: u64,
    /// Valid events a recording rule chose not to store.
    pub dropped: u64,
    pub rejected: Vec<Rejection>,
}

/// Validate every item, store the valid ones in one statement and answer after commit.
/// 200 when nothing was rejected or something was stored; 422 when every item was rejected.
pub async fn post_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let grant = authorize_key(&state, &headers, peer.ip(), KeyKind::Ingest).await?;
    let ndjson = is_ndjson(&headers)?;
    let gzipped = is_gzipped(&headers)?;
    let limit = state.config.max_body_bytes;
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        ApiError::PayloadTooLarge(format!("the request body is larger than {limit} bytes"))
    })?;
    let bytes = if gzipped { gunzip(&bytes, limit)? } else { bytes };

    let items = ingest::split_body(&bytes, ndjson, state.config.max_batch_events).map_err(|e| match e {
        BodyError::TooManyEvents { .. } => ApiError::PayloadTooLarge(e.to_string()),
        other => ApiError::BadRequest(other.to_string()),
    })?;

    let now = Utc::now();
    let rules = recording_rules(&state).await?;
    let Sorted { valid, dropped, rejected } = sort_items(&state, &items, grant.scope.single_environment(), &rules, now);
    let outcome = store::insert_events(&state.writers, &valid).await?;
    if !dropped.is_empty() {
        let counts: Vec<(i64, i64)> = dropped.iter().map(|(rule, n)| (*rule, *n)).collect();
        if let Err(error) = store::rules::count_dropped(&state.pool, now.date_naive(), &counts).await {
            tracing::warn!(%error, "counting the events recording rules dropped failed");
        }
    }

    let status = if valid.is_empty() && dropped.is_empty() && !rejected.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let dropped = dropped.values().sum::<i64>() as u64;
    state.metrics.ingested(outcome.inserted, outcome.duplicates, dropped, rejected.len() as u64);
    if !rejected.is_empty() {
        let address = crate::auth::client_ip(peer.ip(), &headers, &state.config.trusted_proxies).to_string();
        if let Err(error) = store::rejections::record(&state.pool, &state.instance, (now, &grant.label, &address), &rejected).await {
            tracing::warn!(%error, "keeping the rejected items for Settings → Write path failed");
        }
    }
    let reply = IngestReply { accepted: outcome.inserted, duplicates: outcome.duplicates, dropped, rejected };
    Ok((status, Json(reply)).into_response())
}

/// A batch's items: the events to store, those recording rules dropped (by
/// rule), and the rejected.
struct Sorted {
    valid: Vec<ingest::NewEvent>,
    dropped: HashMap<i64, i64>,
    rejected: Vec<Rejection>,
}

/// Check each item (size, fields, environment), apply the recording rules,
/// and prepare (redact, enrich) what will be stored. A key bound to one
/// environment writes there: items that name no environment get it, items
/// that name another are rejected.
fn sort_items(state: &AppState, items: &[Result<serde_json::Value, Rejection>], bound: Option<&str>, rules: &Rules, now: chrono::DateTime<Utc>) -> Sorted {
    let mut sorted = Sorted { valid: Vec::with_capacity(items.len()), dropped: HashMap::new(), rejected: Vec::new() };
    let max_event_bytes = state.config.max_event_bytes;
    for (index, item) in items.iter().enumerate() {
        let sized = |value| ingest::check_size(index, value, max_event_bytes).map(|_| value);
        let parse = |value: &serde_json::Value| match (bound, value) {
            (Some(env), serde_json::Value::Object(map)) if !map.contains_key("environment") => {
                let mut map = map.clone();
                map.insert("environment".into(), env.into());
                ingest::validate(index, &serde_json::Value::Object(map), now)
            }
            _ => ingest::validate(index, value, now),
        };
        let in_bound = |event: ingest::NewEvent| {
            let refuse = |error: String| Err(Rejection { index, field: Some("environment".into()), error });
            match bound {
                _ if audit::is_reserved_environment(&event.environment) => refuse(format!(
                    "environment {:?} is reserved for Vigil's own audit trail",
                    event.environment
                )),
                Some(env) if env != event.environment => {
                    refuse(format!("this key may only send events for environment {env:?}"))
                }
                _ => Ok(event),
            }
        };
        match item.as_ref().map_err(Clone::clone).and_then(sized).and_then(parse).and_then(in_bound) {
            Ok(event) if let Some(rule) = rules.dropping(&event) => *sorted.dropped.entry(rule).or_default() += 1,
            Ok(mut event) => {
                state.pipeline.prepare(&mut event);
                sorted.valid.push(event)
            }
            Err(rejection) => sorted.rejected.push(rejection),
        }
    }
    sorted
}

/// The recording rules in force: as cached, or read again when stale.
async fn recording_rules(state: &AppState) -> Result<Arc<Rules>, ApiError> {
    if let Some(rules) = state.recording_rules.fresh() {
        return Ok(rules);
    }
    Ok(state.recording_rules.store(store::rules::load(&state.pool).await?))
}

/// Whether the body is gzip-compressed (`Content-Encoding: gzip`, as log
/// shippers send it); any other encoding is refused.
fn is_gzipped(headers: &HeaderMap) -> Result<bool, ApiError> {
    let encoding = headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => Ok(false),
        Some("gzip" | "x-gzip") => Ok(true),
        Some(other) => Err(ApiError::UnsupportedMediaType(format!(
            "content encoding {other} is not accepted; send the body as it is or gzip-compressed"
        ))),
    }
}

/// A gzip-compressed body, decompressed: at most `limit` bytes, as a body sent as it is.
fn gunzip(compressed: &[u8], limit: usize) -> Result<Bytes, ApiError> {
    use std::io::Read;
    let mut body = Vec::with_capacity(compressed.len().saturating_mul(4).min(limit));
    flate2::read::MultiGzDecoder::new(compressed)
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid gzip: {e}")))?;
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge(format!("the request body is larger than {limit} bytes once decompressed")));
    }
    Ok(body.into())
}

fn is_ndjson(headers: &HeaderMap) -> Result<bool, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Ok(true),
        "application/json" | "" => Ok(false),
        other => Err(ApiError::UnsupportedMediaType(format!(
            "content type {other} is not accepted; send application/json or application/x-ndjson"
        ))),
    }
}
