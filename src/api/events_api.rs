//! The read side of the HTTP API, for SIEM tools and downloads:
//! `GET /api/v1/events` (filtered listing, newest first, signed page tokens),
//! `GET /api/v1/events/export` (ingestion order from a time or a cursor, never
//! skipping or repeating an event; JSON pages, NDJSON or CSV streams), and the
//! console's `GET /events/export` download of the current filter.

use std::future::Future;
use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::api::auth::{authorize_key, KeyKind};
use crate::audit::{record_in_background, Activity};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::model::{parse_query, EventFilter, PageCursor};
use crate::query::filter::{resolve_span, Span};
use crate::query::{self, ExportPosition};
use crate::state::AppState;

pub const DEFAULT_API_PAGE_SIZE: u32 = 100;
pub const MAX_API_PAGE_SIZE: u32 = 10_000;
/// Rows fetched per database round trip while streaming.
const STREAM_CHUNK: u32 = 1_000;

const FILTER_PARAMS: [&str; 10] = ["env", "org", "user", "app", "type", "category", "outcome", "target", "ip", "q"];

/// The query's parameters, rejecting unknown ones by name.
fn params(query: &Option<String>, extra: &[&'static str]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = parse_query(query.as_deref().unwrap_or(""));
    for (key, _) in &pairs {
        if !FILTER_PARAMS.contains(&key.as_str()) && !extra.contains(&key.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown parameter {key:?}; accepted: {}, {}",
                FILTER_PARAMS.join(", "),
                extra.join(", ")
            )));
        }
    }
    Ok(pairs)
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

/// The filter part of a request, in canonical form (what a token is bound to).
fn filter_of(pairs: &[(String, String)]) -> EventFilter {
    let only_filters: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| FILTER_PARAMS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={}", crate::model::encode(v)))
        .collect();
    EventFilter::from_query(&only_filters.join("&"))
}

/// The export key's scope, after its rate limit.
async fn authorize(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> Result<crate::model::Scope, ApiError> {
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

fn bad_token(field: &'static str, why: &str) -> ApiError {
    ApiError::InvalidParameter { field, message: format!("{field} {why}; start again without it") }
}

/// The payload of a token (`kind` "page" or "export", given as parameter `field`)
/// after its first line, which must be the canonical query it was issued for.
fn open_token(state: &AppState, kind: &str, field: &'static str, token: &str, canonical: &str) -> Result<String, ApiError> {
    let payload = state.signer.verify(kind, token).ok_or_else(|| bad_token(field, "is not valid"))?;
    let (query, rest) = payload.split_once('\n').ok_or_else(|| bad_token(field, "is not valid"))?;
    if query != canonical {
        return Err(bad_token(field, "belongs to a different query"));
    }
    Ok(rest.to_string())
}

/// `GET /api/v1/events`: events matching the filters, newest first, a page at a time.
pub async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let scope = authorize(&state, &headers, peer).await?;
    let pairs = params(&query, &["range", "from", "to", "page_size", "page_token"])?;
    let size = page_size(&pairs)?;
    let from_param = time_param(&pairs, "from")?;
    let to_param = time_param(&pairs, "to")?;
    let mut filter = filter_of(&pairs);
    filter.scope = scope;
    // `from` without `to` is open-ended: the token binds the `from` sent, not a moving "now".
    let mut open_from = None;
    match (from_param, to_param) {
        (Some(from), Some(to)) if from < to => filter = filter.with_span(from, to),
        (Some(_), Some(_)) => {
            return Err(ApiError::InvalidParameter { field: "from", message: "from must be before to".into() })
        }
        (Some(from), None) => open_from = Some(from),
        (None, Some(_)) => return Err(ApiError::InvalidParameter { field: "from", message: "to needs from".into() }),
        (None, None) => {
            if let Some(range) = param(&pairs, "range") {
                if !crate::model::PRESETS.iter().any(|p| p.0 == range) {
                    return Err(ApiError::InvalidParameter {
                        field: "range",
                        message: format!("range must be one of {}", crate::model::PRESETS.map(|p| p.0).join(", ")),
                    });
                }
                filter = filter.with("range", Some(range));
            }
        }
    }
    within_bounds(&match open_from {
        Some(from) => filter.with_span(from, Utc::now()),
        None => filter.clone(),
    })?;
    let canonical = match open_from {
        Some(from) => format!("{}&from={}", filter.to_query(), from.timestamp_micros()),
        None => filter.to_query(),
    };

    // A page token pins the query and the resolved start of the range.
    let (from, to, before) = match param(&pairs, "page_token") {
        Some(token) => {
            let rest = open_token(&state, "page", "page_token", token, &canonical)?;
            let mut lines = rest.split('\n');
            let (Some(from), Some(to), Some(cursor)) = (lines.next(), lines.next(), lines.next()) else {
                return Err(bad_token("page_token", "is not valid"));
            };
            let time = |t: &str| t.parse().ok().and_then(DateTime::from_timestamp_micros);
            let cursor = PageCursor::decode(cursor).ok_or_else(|| bad_token("page_token", "is not valid"))?;
            (time(from).ok_or_else(|| bad_token("page_token", "is not valid"))?, time(to), Some(cursor))
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
    let mut reply = json!({ "events": events });
    if let Some(next) = next {
        let to_text = to.map(|t| t.timestamp_micros().to_string()).unwrap_or_default();
        let payload = format!("{canonical}\n{}\n{to_text}\n{}", from.timestamp_micros(), next.encode());
        reply["next_page_token"] = json!(state.signer.sign("page", &payload));
    }
    Ok(Json(reply))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Ndjson,
    Csv,
}

fn format_of(pairs: &[(String, String)]) -> Result<Format, ApiError> {
    match param(pairs, "format").unwrap_or("json") {
        "json" => Ok(Format::Json),
        "ndjson" => Ok(Format::Ndjson),
        "csv" => Ok(Format::Csv),
        _ => Err(ApiError::InvalidParameter { field: "format", message: "format must be json, ndjson or csv".into() }),
    }
}

/// `GET /api/v1/events/export`: events in ingestion order after a cursor (or
/// received since a time, or from the beginning). `json` answers one page with
/// `next_cursor`; `ndjson` and `csv` stream everything up to now and give the
/// cursor to continue from in the `Vigil-Next-Cursor` header.
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
    let mut filter = filter_of(&pairs);
    filter.scope = scope;
    within_bounds(&filter)?;
    let canonical = filter.to_query();

    let after = match (param(&pairs, "cursor"), time_param(&pairs, "since")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::InvalidParameter { field: "since", message: "give since or cursor, not both".into() })
        }
        (Some(cursor), None) => {
            let payload = open_token(&state, "export", "cursor", cursor, &canonical)?;
            ExportPosition::decode(&payload).ok_or_else(|| bad_token("cursor", "is not valid"))?
        }
        (None, Some(since)) => query::export_position_at(&state.pool, since).await?,
        (None, None) => ExportPosition::default(),
    };
    let upto = query::export_upto(&state.pool).await?;
    let cursor_at = |position: ExportPosition| state.signer.sign("export", &format!("{canonical}\n{}", position.encode()));

    if format == Format::Json {
        let page = query::export_events(&state.exports, &filter, after, upto, size).await?;
        let next = page.next.max(after);
        return Ok(Json(json!({ "events": page.events, "next_cursor": cursor_at(next), "has_more": page.more })).into_response());
    }

    let pool = state.exports.clone();
    let body = stream(format, after, move |after| {
        let pool = pool.clone();
        let filter = filter.clone();
        async move {
            let page = query::export_events(&pool, &filter, after, upto, STREAM_CHUNK).await?;
            let more = page.more;
            Ok((more || !page.events.is_empty()).then(|| (page.events, more.then_some(page.next))))
        }
    });
    let mut response = download(body, format, "vigil-export");
    let end = cursor_at(upto.max(after));
    response.headers_mut().insert("vigil-next-cursor", HeaderValue::from_str(&end).expect("base64 is a valid header"));
    Ok(response)
}

/// `GET /events/export?<explorer query>&format=csv|ndjson`: the console's download
/// of exactly the current filter and range, newest first.
/// Read in the signed-in user's scope, and audited.
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
    within_bounds(&filter)?;
    let export = Activity::new("events.export", "access")
        .details(json!({"filter": filter.to_query(), "format": param(&pairs, "format")}));
    record_in_background(&state, principal.actor(), export);
    let Span { from, to, .. } = resolve_span(&filter, Utc::now());
    let pool = state.exports.clone();
    let body = stream(format, None::<PageCursor>, move |before| {
        let pool = pool.clone();
        let filter = filter.clone();
        async move {
            let (events, next) =
                query::list_full_events(&pool, &filter, Some(from), to, before.as_ref(), STREAM_CHUNK).await?;
            Ok((!events.is_empty()).then(|| (events, next.map(Some))))
        }
    });
    Ok(download(body, format, "vigil-events"))
}

/// Stream pages as NDJSON lines or CSV rows. `next(position)` gives a page and
/// the position after it (`None`: that was the last page), or `None` when there
/// is nothing more. Memory holds one page at a time.
fn stream<P, F, Fut>(format: Format, start: P, next: F) -> Body
where
    P: Send + 'static,
    F: Fn(P) -> Fut + Send + 'static,
    Fut: Future<Output = sqlx::Result<Option<(Vec<Value>, Option<P>)>>> + Send + 'static,
{
    use futures::{StreamExt, TryStreamExt};

    let header = futures::stream::iter((format == Format::Csv).then(|| Ok::<_, sqlx::Error>(Bytes::from(csv_header()))));
    let rows = futures::stream::try_unfold(Some(start), move |position| {
        let page = position.map(&next);
        async move {
            let Some(page) = page else { return Ok(None) };
            let Some((events, after)) = page.await? else { return Ok(None) };
            let chunk: String = events.iter().map(|e| encode_line(format, e)).collect();
            Ok(Some((Bytes::from(chunk), after)))
        }
    });
    Body::from_stream(header.chain(rows).inspect_err(|e: &sqlx::Error| tracing::error!(error = %e, "export stream failed")))
}

/// A response that downloads as a file named after the format and the time.
fn download(body: Body, format: Format, name: &str) -> Response {
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        _ => ("application/x-ndjson", "ndjson"),
    };
    let file = format!("{name}-{}.{extension}", Utc::now().format("%Y%m%d-%H%M%S"));
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
        ],
        body,
    )
        .into_response()
}

fn encode_line(format: Format, event: &Value) -> String {
    match format {
        Format::Csv => csv_row(event),
        _ => format!("{event}\n"),
    }
}

/// CSV columns: paths into the event JSON.
const CSV_COLUMNS: [&str; 30] = [
    "id", "occurred_at", "received_at", "seq", "environment", "organization.id", "organization.name",
    "app.id", "app.name", "type", "category", "outcome", "reason", "actor.type", "actor.id", "actor.name",
    "actor.email", "actor.role", "actor.session_id", "target.type", "target.id", "target.name",
    "request.id", "request.method", "request.path", "request.status", "client.ip", "client.user_agent",
    "changes", "details",
];

fn csv_header() -> String {
    let mut line = CSV_COLUMNS.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

fn csv_row(event: &Value) -> String {
    let cells: Vec<String> = CSV_COLUMNS
        .iter()
        .map(|path| {
            let value = path.split('.').fold(Some(event), |v, key| v.and_then(|v| v.get(key)));
            match value {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => csv_cell(s),
                Some(other) => csv_cell(&other.to_string()),
            }
        })
        .collect();
    format!("{}\r\n", cells.join(","))
}

/// One CSV cell: quoted when needed, and neutralised when a spreadsheet would
/// read it as a formula (leading `=`, `+`, `-`, `@`, tab or carriage return).
pub fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn a_csv_row_follows_the_header() {
        let event = json!({"id": "e1", "type": "app.view", "actor": {"name": "=cmd|' /C calc'!A0"}, "request": {"status": 200}});
        let row = csv_row(&event);
        let cells: Vec<&str> = row.trim_end().split(',').collect();
        assert_eq!(cells.len(), CSV_COLUMNS.len());
        assert_eq!(cells[0], "e1");
        assert_eq!(cells[15], "'=cmd|' /C calc'!A0");
        assert_eq!(cells[25], "200");
    }
}
