//! The read side of the HTTP API, for SIEM tools and downloads: `list`
//! (`GET /api/v1/events`, filtered, newest first, signed page tokens),
//! `export` (`GET /api/v1/events/export`, ingestion order from a time or a
//! cursor, never skipping or repeating an event; and the console's
//! `GET /events/export` download of the current filter), and `stream` (NDJSON
//! and CSV bodies). Here: what they share — the query's parameters, the export
//! key's check, and the signed tokens.

mod export;
mod list;
mod stream;

pub use export::{download_filtered, export};
pub use list::list;

use std::net::SocketAddr;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::auth::{authorize_key, KeyKind};
use crate::error::ApiError;
use crate::model::{to_query, EventFilter, Scope};
use crate::state::AppState;

pub const DEFAULT_API_PAGE_SIZE: u32 = 100;
pub const MAX_API_PAGE_SIZE: u32 = 10_000;

/// The query's parameters, rejecting unknown ones by name.
fn params(query: &Option<String>, extra: &[&'static str]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = crate::model::parse_query(query.as_deref().unwrap_or(""));
    let accepted = || EventFilter::params().chain(extra.iter().copied());
    match pairs.iter().find(|(key, _)| !accepted().any(|p| p == key)) {
        Some((key, _)) => Err(ApiError::BadRequest(format!(
            "unknown parameter {key:?}; accepted: {}",
            accepted().collect::<Vec<_>>().join(", ")
        ))),
        None => Ok(pairs),
    }
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

fn time_param(pairs: &[(String, String)], field: &'static str) -> Result<Option<DateTime<Utc>>, ApiError> {
    param(pairs, field)
        .map(|text| {
            DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| ApiError::InvalidParameter {
                field,
                message: format!("{field} must be an RFC 3339 time, e.g. 2026-11-21T10:00:00Z"),
            })
        })
        .transpose()
}

fn page_size(pairs: &[(String, String)]) -> Result<u32, ApiError> {
    match param(pairs, "page_size") {
        None => Ok(DEFAULT_API_PAGE_SIZE),
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_API_PAGE_SIZE).contains(&n) => Ok(n),
            _ => Err(ApiError::InvalidParameter {
                field: "page_size",
                message: format!("page_size must be a whole number from 1 to {MAX_API_PAGE_SIZE}"),
            }),
        },
    }
}

/// The filter part of a request, in canonical form (what a token is bound to),
/// in the export key's scope.
fn filter_of(pairs: &[(String, String)], scope: Scope) -> EventFilter {
    let only_filters = pairs.iter().filter(|(k, _)| EventFilter::params().any(|p| p == k));
    let mut filter = EventFilter::from_query(&to_query(only_filters.map(|(k, v)| (k.as_str(), v.as_str()))));
    filter.scope = scope;
    filter
}

/// The export key's scope, after its rate limit.
async fn authorize(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> Result<Scope, ApiError> {
    let grant = authorize_key(state, headers, peer.ip(), KeyKind::Export).await?;
    state.limiter.check(&grant.holder)?;
    Ok(grant.scope)
}

/// Refuse a filter that asks for more than a request may read.
fn within_bounds(filter: &EventFilter) -> Result<(), ApiError> {
    match crate::query::filter::out_of_bounds(filter, Utc::now()) {
        Some((field, message)) => Err(ApiError::InvalidParameter { field, message }),
        None => Ok(()),
    }
}

/// The format of the tokens below; a token of another version is refused.
const TOKEN_VERSION: u32 = 2;

/// What a page token or an export cursor carries, signed: its version, the
/// canonical query it was issued for, and where the next page starts.
#[derive(Serialize, Deserialize)]
struct Token<P> {
    v: u32,
    query: String,
    at: P,
}

/// A signed token of `kind` ("page" or "export") for `query`, going on at `at`.
fn issue_token<P: Serialize>(state: &AppState, kind: &str, query: &str, at: P) -> String {
    let token = Token { v: TOKEN_VERSION, query: query.to_string(), at };
    state.signer.sign(kind, &serde_json::to_string(&token).expect("a token serialises"))
}

/// Where a token (given as parameter `field`) goes on, when it is genuine,
/// current and was issued for `query`.
fn redeem_token<P: DeserializeOwned>(
    state: &AppState,
    kind: &str,
    field: &'static str,
    token: &str,
    query: &str,
) -> Result<P, ApiError> {
    let bad = |why: &str| ApiError::InvalidParameter { field, message: format!("{field} {why}; start again without it") };
    let payload = state.signer.verify(kind, token).ok_or_else(|| bad("is not valid"))?;
    let token: Token<P> = serde_json::from_str(&payload).map_err(|_| bad("is not valid"))?;
    if token.v != TOKEN_VERSION {
        return Err(bad("is from an earlier version of Vigil"));
    }
    if token.query != query {
        return Err(bad("belongs to a different query"));
    }
    Ok(token.at)
}
