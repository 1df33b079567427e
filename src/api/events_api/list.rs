//! `GET /api/v1/events`: events matching the filters, newest first, a page at
//! a time; each page's token pins the query and the resolved range.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::stream::json_array;
use super::{authorize, filter_of, issue_token, page_size, param, params, redeem_token, time_param, within_bounds};
use crate::error::ApiError;
use crate::model::{EventFilter, PageCursor, PRESETS};
use crate::query::{self, filter::resolve_span};
use crate::state::AppState;

/// Where the next page starts: the range resolved on the first page, and the
/// last event sent.
#[derive(Serialize, Deserialize)]
struct NextPage {
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    before: PageCursor,
}

pub async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<ListReply>, ApiError> {
    let scope = authorize(&state, &headers, peer).await?;
    let pairs = params(&query, &["range", "from", "to", "page_size", "page_token"])?;
    let size = page_size(&pairs)?;
    let (filter, open_from) = requested_range(&pairs, filter_of(&pairs, scope))?;
    // `from` without `to` is open-ended: the token binds the `from` sent, not a moving "now".
    let canonical = match open_from {
        Some(from) => format!("{}&from={}", filter.to_query(), from.timestamp_micros()),
        None => filter.to_query(),
    };
    let (from, to, before) = match param(&pairs, "page_token") {
        Some(token) => {
            let next: NextPage = redeem_token(&state, "page", "page_token", token, &canonical)?;
            (next.from, next.to, Some(next.before))
        }
        None => match open_from {
            Some(from) => (from, None, None),
            None => {
                let span = resolve_span(&filter, Utc::now());
                (span.from, span.to, None)
            }
        },
    };
    let (events, next) = query::list_full_events(&state.pool, &filter, Some(from), to, before.as_ref(), size).await?;
    let next_page_token = next.map(|before| issue_token(&state, "page", &canonical, NextPage { from, to, before }));
    Ok(Json(ListReply { events: json_array(&events)?, next_page_token }))
}

/// A page of the list API, written without a JSON tree per event.
#[derive(Serialize)]
pub struct ListReply {
    events: Box<RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// The filter with the range the request names (`from`/`to`, or a `range`
/// preset), and the start of an open-ended range (`from` alone); refused when
/// the range is malformed or too wide.
fn requested_range(
    pairs: &[(String, String)],
    filter: EventFilter,
) -> Result<(EventFilter, Option<DateTime<Utc>>), ApiError> {
    let invalid = |field, message: &str| ApiError::InvalidParameter { field, message: message.into() };
    let (filter, open_from) = match (time_param(pairs, "from")?, time_param(pairs, "to")?) {
        (Some(from), Some(to)) if from < to => (filter.with_span(from, to), None),
        (Some(_), Some(_)) => return Err(invalid("from", "from must be before to")),
        (Some(from), None) => (filter, Some(from)),
        (None, Some(_)) => return Err(invalid("from", "to needs from")),
        (None, None) => match param(pairs, "range") {
            Some(range) if !PRESETS.iter().any(|p| p.0 == range) => {
                let presets = PRESETS.map(|p| p.0).join(", ");
                return Err(invalid("range", &format!("range must be one of {presets}")));
            }
            Some(range) => (filter.with("range", Some(range)), None),
            None => (filter, None),
        },
    };
    within_bounds(&match open_from {
        Some(from) => filter.with_span(from, Utc::now()),
        None => filter.clone(),
    })?;
    Ok((filter, open_from))
}
