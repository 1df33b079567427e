//! Errors of the HTTP API and of server functions. Client mistakes carry a
//! code and a message the client can act on; internal causes are logged and
//! answered with an opaque 500.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use leptos::prelude::ServerFnError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    InvalidParameter { field: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("too many requests; retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error(transparent)]
    Internal(#[from] sqlx::Error),
    /// The console's cookie session store failed.
    #[error(transparent)]
    Session(#[from] tower_sessions::session::Error),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::InvalidParameter { .. } => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Internal(e) if database_unavailable(e) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(e) if timed_out(e) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::Internal(e) if unstorable_text(e) => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            // The console's cookie store is the database: failing, it is away.
            ApiError::Session(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// Seconds a client is asked to wait while the database is away.
const UNAVAILABLE_RETRY_AFTER: &str = "5";

const UNAVAILABLE_MESSAGE: &str = "the database cannot take the request now; nothing of it was applied, retry later";
const TIMEOUT_MESSAGE: &str =
    "the search took longer than its time limit and was stopped; narrow the time range or the filters";

const UNSTORABLE_MESSAGE: &str = "a value contains a NUL character, which no stored text can contain";

/// Whether the database refused a parameter's text (a NUL byte: SQLSTATE 22021),
/// which only a client sends.
fn unstorable_text(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("22021"))
}

/// Whether the database stopped a statement that ran past its time limit.
pub fn timed_out(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("57014"))
}

/// Whether a database error means "cannot store or read now" (connection lost
/// or refused, server shutting down or starting, pool exhausted, disk or memory
/// full) rather than a fault of the request or of Vigil.
pub fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            // 08: connection exception; 53: out of disk, memory or connections;
            // 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
            code.starts_with("08") || code.starts_with("53") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if code == "invalid_parameter" && matches!(self, ApiError::Internal(_)) {
            UNSTORABLE_MESSAGE.to_string()
        } else if code == "timeout" {
            tracing::warn!(error = %self, "statement timeout");
            TIMEOUT_MESSAGE.to_string()
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %self, "database unavailable");
            UNAVAILABLE_MESSAGE.to_string()
        } else if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "internal error");
            "internal error; the request was not applied".to_string()
        } else {
            self.to_string()
        };
        let mut error = json!({ "code": code, "message": message });
        if let ApiError::InvalidParameter { field, .. } = &self {
            error["field"] = json!(field);
        }
        let body = Json(json!({ "error": error }));
        match self {
            ApiError::Unauthorized(_) => (status, [(header::WWW_AUTHENTICATE, "Bearer".to_string())], body).into_response(),
            ApiError::TooManyRequests { retry_after } => {
                (status, [(header::RETRY_AFTER, retry_after.to_string())], body).into_response()
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                (status, [(header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER.to_string())], body).into_response()
            }
            _ => (status, body).into_response(),
        }
    }
}

/// Log an internal failure inside a server function and answer generically.
pub fn internal(cause: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(error = %cause, "server function failed");
    ServerFnError::new("internal error")
}

/// A failed read inside a server function: what the reader can do about a
/// time limit or an absent database, else a generic internal error.
pub fn from_database(error: sqlx::Error) -> ServerFnError {
    if timed_out(&error) {
        tracing::warn!(%error, "statement timeout");
        ServerFnError::new(TIMEOUT_MESSAGE)
    } else if unstorable_text(&error) {
        ServerFnError::new(UNSTORABLE_MESSAGE)
    } else if database_unavailable(&error) {
        tracing::warn!(%error, "database unavailable");
        ServerFnError::new(UNAVAILABLE_MESSAGE)
    } else {
        internal(error)
    }
}
