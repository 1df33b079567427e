//! `GET /api/v1/events/export`, the feed for SIEM tools, and `GET /events/export`,
//! the console's download of the current filter.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;
use serde_json::value::RawValue;

use super::stream::{download, encode, format_of, json_array, stream, Format, STREAM_CHUNK};
use super::{authorize, filter_of, issue_token, page_size, param, params, redeem_token, time_param, within_bounds};
use crate::audit::{record_in_background, Activity};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::model::{parse_query, Category, EventFilter, PageCursor};
use crate::query::filter::{resolve_span, Span};
use crate::query::pages::read_ahead;
use crate::query::{self, ExportPosition, ReadEvents};
use crate::state::AppState;

/// Events in ingestion order after a cursor (or received since a time, or
/// from the beginning). `json` answers one page with `next_cursor`; `ndjson`
/// and `csv` stream everything up to now and give the cursor to continue from
/// in the `Vigil-Next-Cursor` header.
pub async fn export(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let scope = authorize(&state, &headers, peer).await?;
    let pairs = params(&query, &["since", "cursor", "format", "page_size"])?;
    let format = format_of(&pairs)?;
    let size = page_size(&pairs)?;
    let filter = filter_of(&pairs, scope);
    within_bounds(&filter)?;
    let canonical = filter.to_query();
    let after = match (param(&pairs, "cursor"), time_param(&pairs, "since")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::InvalidParameter { field: "since", message: "give since or cursor, not both".into() })
        }
        (Some(cursor), None) => redeem_token(&state, "export", "cursor", cursor, &canonical)
            .or_else(|refused| unversioned_cursor(&state, cursor, &canonical).ok_or(refused))?,
        (None, Some(since)) => query::export_position_at(&state.pool, since).await?,
        (None, None) => ExportPosition::default(),
    };
    let upto = query::export_upto(&state.pool).await?;
    let cursor_at = |position: ExportPosition| issue_token(&state, "export", &canonical, position);

    if format == Format::Json {
        let page = query::export_events(&state.exports, &filter, after, upto, size).await?;
        let next = page.next.max(after);
        let reply = ExportReply { events: json_array(&page.events)?, next_cursor: cursor_at(next), has_more: page.more };
        return Ok(Json(reply).into_response());
    }
    let pages = query::export_pages(state.exports.clone(), filter, after, upto, STREAM_CHUNK, move |events| encode(format, events));
    let body = stream(format, pages);
    let mut response = download(body, format, "vigil-export");
    let end = cursor_at(upto.max(after));
    response.headers_mut().insert("vigil-next-cursor", HeaderValue::from_str(&end).expect("base64 is a valid header"));
    Ok(response)
}

/// A page of the export in JSON, written without a JSON tree per event.
#[derive(serde::Serialize)]
struct ExportReply {
    events: Box<RawValue>,
    next_cursor: String,
    has_more: bool,
}

/// An export cursor from before tokens carried a version
/// (`<query>\n<xid>.<batch_id>.<seq>`, signed alike): a SIEM tool that kept
/// one across an upgrade goes on where it was.
fn unversioned_cursor(state: &AppState, cursor: &str, canonical: &str) -> Option<ExportPosition> {
    let payload = state.signer.verify("export", cursor)?;
    let (query, position) = payload.split_once('\n')?;
    let mut parts = position.split('.').map(str::parse::<i64>);
    let position = ExportPosition { xid: parts.next()?.ok()?, batch_id: parts.next()?.ok()?, seq: parts.next()?.ok()? };
    (query == canonical && parts.next().is_none()).then_some(position)
}

/// `GET /events/export?<explorer query>&format=csv|ndjson`: exactly the
/// current filter and range, newest first, read in the signed-in user's scope,
/// and audited.
pub async fn download_filtered(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = query.unwrap_or_default();
    let pairs = parse_query(&query);
    let format = format_of(&pairs)?;
    if format == Format::Json {
        return Err(ApiError::InvalidParameter { field: "format", message: "format must be ndjson or csv".into() });
    }
    let mut filter = EventFilter::from_query(&query);
    filter.scope = principal.scope();
    // As the explorer shows it: Vigil's own activity only when chosen.
    filter.without_console = true;
    within_bounds(&filter)?;
    let export = Activity::new("events.export", Category::Access)
        .details(json!({"filter": filter.to_query(), "format": param(&pairs, "format")}));
    record_in_background(&state, principal.actor(), export);
    let Span { from, to, .. } = resolve_span(&filter, Utc::now());
    let pool = state.exports.clone();
    let read = move |before: Option<PageCursor>| {
        let (pool, filter) = (pool.clone(), filter.clone());
        async move {
            let (events, next) = query::list_full_events(&pool, &filter, Some(from), to, before.as_ref(), STREAM_CHUNK).await?;
            Ok((!events.is_empty()).then_some((events, next.map(Some))))
        }
    };
    let pages = read_ahead(None, read, move |events: ReadEvents| events.write(|events| encode(format, events)));
    let body = stream(format, pages);
    Ok(download(body, format, "vigil-events"))
}
