//! The OpenAPI description of the HTTP API, served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api::ingest::IngestReply;
use crate::api::health::Health;
use crate::ingest::Rejection;
use crate::model::{EnvironmentRetention, IntegrityStatus, PartitionArchive, PartitionState, PurgeHealth, PurgeRun};
use crate::store::ledger::{LedgerStatus, WatermarkHolder};

/// An error: `{"error": {"code", "message", "field"?}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// bad_request, invalid_parameter, unauthorized, payload_too_large, unsupported_media_type, rate_limited, unavailable, internal
    code: String,
    message: String,
    /// The parameter at fault, for invalid_parameter.
    field: Option<String>,
}

/// A page of the list API.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventList {
    /// Events, newest first, in the shape of the ingest API plus `received_at` and `seq`.
    events: Vec<serde_json::Value>,
    /// Pass as `page_token` (with the same filters) for the next page; absent on the last page.
    next_page_token: Option<String>,
}

/// A page of the export API in `json` format.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ExportPage {
    /// Events in ingestion order: at most `page_size`, and fewer (even none)
    /// when the page's read bound (25 times `page_size` events) ends first.
    events: Vec<serde_json::Value>,
    /// Pass as `cursor` to continue after the last event of this page (always present).
    next_cursor: String,
    /// Whether more events were already available when this page was read:
    /// follow `next_cursor` until it is false.
    has_more: bool,
}

#[utoipa::path(
    post, path = "/api/v1/events", tag = "ingest",
    request_body(content = serde_json::Value, description = "A JSON array of events, one event object, or NDJSON (application/x-ndjson), as it is or gzip-compressed (Content-Encoding: gzip). At most 10 000 events and 10 MiB (decompressed), each event at most 64 KiB of JSON.", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored what was valid (committed)", body = IngestReply),
        (status = 422, description = "Every item was rejected", body = IngestReply),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong ingest key", body = ErrorBody),
        (status = 413, description = "Body or batch too large", body = ErrorBody),
        (status = 415, description = "Unsupported content type", body = ErrorBody),
    ),
    security(("ingest_key" = []))
)]
#[allow(dead_code)]
fn ingest() {}

#[utoipa::path(
    get, path = "/api/v1/events", tag = "read",
    params(
        ("env" = Option<String>, Query, description = "Environment"),
        ("org" = Option<String>, Query, description = "Organization id"),
        ("user" = Option<String>, Query, description = "Actor id, e-mail or name"),
        ("app" = Option<String>, Query, description = "App id"),
        ("type" = Option<Vec<String>>, Query, description = "Event type; repeat for several"),
        ("category" = Option<String>, Query, description = "access, change, session or system"),
        ("outcome" = Option<String>, Query, description = "success, failure or denied"),
        ("target" = Option<String>, Query, description = "Target id"),
        ("ip" = Option<String>, Query, description = "Client IP address"),
        ("q" = Option<String>, Query, description = "Free text over actor, target, type, path, reason and IP: whole words, all of them, any case; a word ending in * matches the start of a word"),
        ("range" = Option<String>, Query, description = "15m, 1h, 24h (default), 7d, 30d, 90d or 1y"),
        ("from" = Option<String>, Query, description = "RFC 3339 start (inclusive); overrides range"),
        ("to" = Option<String>, Query, description = "RFC 3339 end (exclusive); needs from"),
        ("page_size" = Option<u32>, Query, description = "1 to 10 000, default 100"),
        ("page_token" = Option<String>, Query, description = "next_page_token of the previous page, with the same filters"),
    ),
    responses(
        (status = 200, description = "A page of events", body = EventList),
        (status = 400, description = "A bad parameter or page token", body = ErrorBody),
        (status = 401, description = "Missing or wrong export key", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody),
    ),
    security(("export_key" = []))
)]
#[allow(dead_code)]
fn list() {}

#[utoipa::path(
    get, path = "/api/v1/events/export", tag = "read",
    params(
        ("since" = Option<String>, Query, description = "Start with events received at or after this RFC 3339 time"),
        ("cursor" = Option<String>, Query, description = "Continue after this cursor (next_cursor or the Vigil-Next-Cursor header)"),
        ("format" = Option<String>, Query, description = "json (one page, default), ndjson or csv (a stream up to now)"),
        ("page_size" = Option<u32>, Query, description = "json only: 1 to 10 000, default 100"),
        ("env" = Option<String>, Query, description = "Optional filters, as for the list API (no time range)"),
    ),
    responses(
        (status = 200, description = "Events in ingestion order; streams carry the next cursor in the Vigil-Next-Cursor header", body = ExportPage),
        (status = 400, description = "A bad parameter or cursor", body = ErrorBody),
        (status = 401, description = "Missing or wrong export key", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody),
    ),
    security(("export_key" = []))
)]
#[allow(dead_code)]
fn export() {}

#[utoipa::path(
    get, path = "/api/v1/health", tag = "read",
    responses(
        (status = 200, description = "The write path's state: the deriving worker's backlog and what holds the export back", body = Health),
        (status = 401, description = "Missing or wrong export key", body = ErrorBody),
        (status = 503, description = "The database cannot take the request now (unreachable or out of space), or a read hit its time limit; see Retry-After", body = ErrorBody),
    ),
    security(("export_key" = []))
)]
#[allow(dead_code)]
fn health() {}

#[utoipa::path(
    get, path = "/api/v1/metrics", tag = "read",
    responses(
        (status = 200, description = "This instance's counters (requests by route and status class with their durations, ingested events by outcome) \
            and the state read at the scrape (database up, deriving and export lag, underived events, services by state, alert rules firing, \
            undelivered notifications), in the OpenMetrics text format for Prometheus", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "Missing or wrong export key", body = ErrorBody),
        (status = 403, description = "The key is restricted to some environments or organizations", body = ErrorBody),
    ),
    security(("export_key" = []))
)]
#[allow(dead_code)]
fn metrics() {}

/// A heartbeat taken.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HeartbeatReply {
    /// `{"id", "name"}` of the service.
    service: serde_json::Value,
    received_at: String,
}

#[utoipa::path(
    post, path = "/api/v1/heartbeats/{token}", tag = "checks",
    params(("token" = String, Path, description = "The heartbeat token shown once when the service was added or became a heartbeat (its only credential)")),
    responses(
        (status = 200, description = "The heartbeat was noted", body = HeartbeatReply),
        (status = 401, description = "No service has this token", body = ErrorBody),
        (status = 429, description = "Too many wrong tokens from this address; see Retry-After", body = ErrorBody),
    )
)]
#[allow(dead_code)]
fn heartbeat() {}

struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["ingest_key", "export_key"] {
            components.add_security_scheme(name, SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Vigil API", description = "Send audit events to Vigil, list them and export them in order; services behind a firewall send heartbeats. Rate limits: VIGIL_API_RATE requests per second per key (burst VIGIL_API_BURST) on the read APIs; over the limit the answer is 429 with Retry-After."),
    paths(ingest, list, export, health, metrics, heartbeat),
    components(schemas(HeartbeatReply, IngestReply, Rejection, ErrorBody, ErrorDetail, EventList, ExportPage, Health, LedgerStatus, WatermarkHolder, PurgeHealth, PurgeRun, PartitionArchive, EnvironmentRetention, PartitionState, IntegrityStatus, crate::model::Deployment, crate::model::ReplicaStatus, crate::model::ReadsServedBy)),
    modifiers(&BearerKeys)
)]
pub struct ApiDoc;

pub async fn spec() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
