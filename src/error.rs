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
    /// The key is valid but may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests; retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No route of the HTTP API has this path.
    #[error("no such API path: {0}; the API is described at /api/openapi.json")]
    NotFound(String),
    /// The path takes other methods (`allow`, as the `Allow` header says them).
    #[error("{method} is not allowed here; use {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error(transparent)]
    Internal(#[from] sqlx::Error),
    /// The console's cookie session store failed.
    #[error(transparent)]
    Session(#[from] tower_sessions::session::Error),
}

impl ApiError {
    /// The status, the code and, for database failures a client can act on, the message.
    fn answer(&self) -> (StatusCode, &'static str, Option<&'static str>) {
        let client = |status, code| (status, code, None);
        match self {
            ApiError::BadRequest(_) => client(StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::InvalidParameter { .. } => client(StatusCode::BAD_REQUEST, "invalid_parameter"),
            ApiError::TooManyRequests { .. } => client(StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unauthorized(_) => client(StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => client(StatusCode::FORBIDDEN, "forbidden"),
            ApiError::PayloadTooLarge(_) => client(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => client(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::NotFound(_) => client(StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed { .. } => client(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Internal(e) => match database_answer(e) {
                Some((status, code, message)) => (status, code, Some(message)),
                None => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
            },
            // The console's cookie store is the database: failing, it is away.
            ApiError::Session(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", Some(UNAVAILABLE_MESSAGE)),
        }
    }
}

/// Seconds a client is asked to wait while the database is away.
const UNAVAILABLE_RETRY_AFTER: &str = "5";

const UNAVAILABLE_MESSAGE: &str = "the database cannot take the request now; nothing of it was applied, retry later";

/// What a database error means to the client — a status, a code and a message
/// it can act on — or `None` when it is Vigil's own fault. SQLSTATE 08…:
/// connection lost; 53…: out of disk, memory or connections; 57P01–57P03:
/// shutting down or starting; 57014: a statement past its time limit; 22021: a
/// parameter with a NUL byte, which only a client sends.
fn database_answer(error: &sqlx::Error) -> Option<(StatusCode, &'static str, &'static str)> {
    let unavailable = Some((StatusCode::SERVICE_UNAVAILABLE, "unavailable", UNAVAILABLE_MESSAGE));
    let sqlx::Error::Database(e) = error else {
        let away = matches!(error, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_));
        return if away { unavailable } else { None };
    };
    let code = e.code().unwrap_or_default();
    match code.as_ref() {
        c if c.starts_with("08") || c.starts_with("53") || matches!(c, "57P01" | "57P02" | "57P03") => unavailable,
        "57014" => Some((
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the search took longer than its time limit and was stopped; narrow the time range or the filters",
        )),
        "22021" => Some((StatusCode::BAD_REQUEST, "invalid_parameter", "a value contains a NUL character, which no stored text can contain")),
        _ => None,
    }
}

/// Whether the same write may succeed when tried again later: the database
/// was away or busy, a statement ran out of time, or it lost a race.
pub fn is_transient(error: &sqlx::Error) -> bool {
    let code = match error {
        sqlx::Error::Database(e) => e.code(),
        _ => None,
    };
    matches!(code.as_deref(), Some("40001" | "40P01" | "55P03"))
        || database_answer(error).is_some_and(|(status, ..)| status == StatusCode::SERVICE_UNAVAILABLE)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, known) = self.answer();
        let message = match known {
            Some(message) => {
                tracing::warn!(error = %self, code, "database refused the request");
                message.to_string()
            }
            None if status == StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(error = %self, "internal error");
                "internal error; the request was not applied".to_string()
            }
            None => self.to_string(),
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
            ApiError::MethodNotAllowed { allow, .. } => (status, [(header::ALLOW, allow.to_string())], body).into_response(),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                (status, [(header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER.to_string())], body).into_response()
            }
            _ => (status, body).into_response(),
        }
    }
}

/// A client's mistake in a server function's arguments: answered 400 with
/// `message`, which says what to change.
pub fn invalid(message: impl std::fmt::Display) -> ServerFnError {
    client_error(StatusCode::BAD_REQUEST, message)
}

/// What a server function was asked about does not exist (or is not the
/// caller's): answered 404.
pub fn not_found(message: impl std::fmt::Display) -> ServerFnError {
    client_error(StatusCode::NOT_FOUND, message)
}

/// A name that must be unique is taken: answered 409.
pub fn conflict(message: impl std::fmt::Display) -> ServerFnError {
    client_error(StatusCode::CONFLICT, message)
}

/// A failed write that broke a unique name: 409 `taken` ("a channel with
/// this name exists"); any other failure as [`internal`].
pub fn name_taken(taken: &'static str) -> impl Fn(sqlx::Error) -> ServerFnError {
    move |error| match &error {
        sqlx::Error::Database(d) if d.is_unique_violation() => conflict(taken),
        _ => internal(error),
    }
}

/// The caller is not signed in: answered 401.
pub fn signed_out(message: impl std::fmt::Display) -> ServerFnError {
    client_error(StatusCode::UNAUTHORIZED, message)
}

/// The caller's role may not do this: answered 403.
pub fn forbidden(message: impl std::fmt::Display) -> ServerFnError {
    client_error(StatusCode::FORBIDDEN, message)
}

/// Whether `path` is a server function's own request: the console's calls
/// under `/api/`, not the versioned REST API under `/api/v1/`.
pub fn is_server_function(path: &str) -> bool {
    path.starts_with("/api/") && !path.starts_with("/api/v1/")
}

/// A server function's error, its reply answered with `status` (500 unless
/// set). A page whose render calls the function keeps its own status: the
/// sign-in page, for one, asks who is signed in and is told nobody.
fn client_error(status: StatusCode, message: impl std::fmt::Display) -> ServerFnError {
    use leptos::prelude::use_context;
    let replying = use_context::<axum::http::request::Parts>().is_some_and(|request| is_server_function(request.uri.path()));
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>().filter(|_| replying) {
        response.set_status(status);
    }
    ServerFnError::new(message)
}

/// Log an internal failure inside a server function and answer generically.
pub fn internal(cause: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(error = %cause, "server function failed");
    ServerFnError::new("internal error")
}

/// A failed read inside a server function: what the reader can do about a
/// time limit, an absent database or a bad value, else a generic internal error.
pub fn from_database(error: sqlx::Error) -> ServerFnError {
    match database_answer(&error) {
        Some((status, code, message)) => {
            tracing::warn!(%error, code, "database refused the request");
            client_error(status, message)
        }
        None => internal(error),
    }
}
