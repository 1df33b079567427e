//! Console sign-in: the sign-in and sign-out handlers, and the guard every
//! request passes: sign-in required except for a short list of public paths,
//! admin-only settings, and same-origin checks on state changes. It puts the
//! [`Principal`] in the request, where server functions find it
//! (`crate::auth::principal`).

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

use crate::audit::{self, Activity, Actor};
use crate::error::ApiError;
use crate::model::{Category, ConsoleUser, Outcome, Role};
use crate::auth::{client_ip, hash_password, random_token, verify_password, Principal, ADMIN_API_PREFIX};
use crate::state::AppState;
use crate::store::access::{self, NewConsoleSession};

/// Key of the console session id in the tower-sessions record.
const SESSION_KEY: &str = "console_session";

/// Spend the time of one verification, so an unknown e-mail answers as slowly as a known one.
fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("not a password anyone has"));
    let _ = verify_password(password, hash);
}

// ---- the guard ----

/// Paths anyone may fetch: the sign-in page, static assets, and the bearer-key APIs.
pub fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/favicon.ico" | "/api/openapi.json")
        || path.starts_with("/pkg/")
        || path.starts_with("/api/v1/")
}

/// Whether a path is in the one form both the guard and the router see: no
/// `.` or `..` segments (also percent-encoded), no empty segments, no encoded
/// slashes and no backslashes. Anything else is refused before the guard decides.
pub fn is_canonical(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else { return false };
    let lowered = rest.to_ascii_lowercase();
    if lowered.contains(['\\']) || lowered.contains("%2f") || lowered.contains("%5c") {
        return false;
    }
    let segments: Vec<&str> = lowered.split('/').collect();
    let last = segments.len() - 1;
    segments.iter().enumerate().all(|(i, segment)| {
        let dots = segment.replace("%2e", ".");
        dots != "." && dots != ".." && (!segment.is_empty() || i == last)
    })
}

fn request_ip(state: &AppState, request: &Request) -> Option<String> {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(client_ip(peer, request.headers(), &state.config.trusted_proxies).to_string())
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(String::from)
}

/// Whether a state-changing request comes from a page of this site: its
/// `Origin` (or, failing that, `Referer`) is the configured public origin, or
/// without one, names the host the request was sent to.
fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let source = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    let Some(source) = source else { return false };
    if let Some(origin) = public_origin {
        return source == origin || source.strip_prefix(origin).is_some_and(|rest| rest.starts_with('/'));
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let without_scheme = source.split_once("://").map_or("", |(_, rest)| rest);
    without_scheme.split('/').next() == Some(host)
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

/// A refusal for `path`: server functions get it in their own error encoding
/// (so the page shows the message), everything else as JSON.
fn refusal(path: &str, status: StatusCode, code: &str, message: &str) -> Response {
    if crate::error::is_server_function(path) {
        use leptos::server_fn::error::FromServerFnError;
        return (status, leptos::prelude::ServerFnError::new(message).ser()).into_response();
    }
    json_error(status, code, message)
}

/// The answer when the sign-in check itself failed (the database is away): a
/// page that says so and tries again for a browser, the server function's own
/// error encoding for the console, JSON otherwise.
fn unavailable(path: &str, method: &Method, error: ApiError) -> Response {
    let response = error.into_response();
    if response.status() != StatusCode::SERVICE_UNAVAILABLE {
        return response;
    }
    let message = "Vigil cannot reach its database just now; nothing was changed. Try again in a few seconds.";
    if method == Method::GET && !path.starts_with("/api/") {
        let page = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">\
             <title>Database unavailable · Vigil</title></head><body><main role=\"alert\"><h1>Database unavailable</h1>\
             <p>{message}</p><p>This page tries again every 5 seconds.</p></main></body></html>"
        );
        let headers = [(header::RETRY_AFTER, "5"), (header::CONTENT_TYPE, "text/html; charset=utf-8")];
        return (StatusCode::SERVICE_UNAVAILABLE, headers, page).into_response();
    }
    let mut refused = refusal(path, StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
    refused.headers_mut().insert(header::RETRY_AFTER, 5.into());
    refused
}

/// Every request passes here. Public paths go through; state changes must be
/// same-origin; everything else needs a live console session, and settings an admin.
pub async fn guard(State(state): State<AppState>, session: Session, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if !is_canonical(&path) {
        return json_error(StatusCode::BAD_REQUEST, "bad_path", "the path has `.`, `..`, empty or encoded-slash segments");
    }
    let changes_state = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state && !path.starts_with("/api/v1/") && !same_origin(request.headers(), state.config.public_origin().as_deref()) {
        return json_error(StatusCode::FORBIDDEN, "cross_origin", "cross-origin requests may not change anything");
    }
    if is_public(&path) && path != "/login" {
        return next.run(request).await;
    }
    let signed_in = match signed_in_user(&state, &session).await {
        Ok(signed_in) => signed_in,
        Err(error) => return unavailable(&path, request.method(), error),
    };
    if path == "/login" {
        // Already signed in: the sign-in page has nothing to offer.
        if request.method() == Method::GET && signed_in.is_some() {
            return Redirect::to("/events").into_response();
        }
        return next.run(request).await;
    }
    let Some((live, session_id)) = signed_in else {
        let is_page = request.method() == Method::GET && !path.starts_with("/api/");
        if is_page {
            let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
            return Redirect::to(&format!("/login?next={}", crate::model::query_value(target))).into_response();
        }
        return refusal(&path, StatusCode::UNAUTHORIZED, "unauthorized", "you are signed out; reload the page to sign in");
    };
    let admin_only = path == "/settings" || path.starts_with("/settings/") || path.starts_with(ADMIN_API_PREFIX);
    if admin_only && live.user.role != Role::Admin {
        return refusal(&path, StatusCode::FORBIDDEN, "forbidden", "only administrators may do this");
    }
    if crate::error::is_server_function(&path) {
        if let Err(ApiError::TooManyRequests { retry_after }) = state.console_limiter.check(&session_id) {
            let message = "too many requests from this console session; wait a moment";
            let mut response = refusal(&path, StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
            response.headers_mut().insert(header::RETRY_AFTER, retry_after.into());
            return response;
        }
    }
    let principal = Principal {
        ip: request_ip(&state, &request),
        user_agent: user_agent(request.headers()),
        fetch_site: request.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()).map(String::from),
        user: live.user,
        read_after: live.written_lsn,
        session_id,
    };
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The live console session behind the request's cookie, and its id.
async fn signed_in_user(state: &AppState, session: &Session) -> Result<Option<(access::LiveSession, String)>, ApiError> {
    // The cookie store is the database: when it is away, that is an outage, not a sign-out.
    let Some(session_id) = session.get::<String>(SESSION_KEY).await? else { return Ok(None) };
    let live = access::live_session_user(&state.pool, &session_id, state.config.console_idle_seconds()).await?;
    Ok(live.map(|live| (live, session_id)))
}

// ---- sign-in and sign-out ----

#[derive(Deserialize)]
pub struct SignInForm {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub next: String,
}

/// Where to go after signing in: `next` resolved against the console's own
/// origin when it stays there, else `/events`. Control characters, whitespace
/// and backslashes are refused outright: browsers drop or reinterpret them
/// (`/\t/evil.example` becomes `//evil.example`).
pub fn safe_next(next: &str) -> String {
    const HOME: &str = "/events";
    let suspicious = |c: char| c.is_control() || c.is_whitespace() || c == '\\';
    if !next.starts_with('/') || next.contains(suspicious) {
        return HOME.into();
    }
    let origin = url::Url::parse("http://console.invalid/").expect("a valid base");
    match origin.join(next) {
        Ok(url) if url.origin() == origin.origin() && !url.path().starts_with("//") => {
            url[url::Position::BeforePath..].to_string()
        }
        _ => HOME.into(),
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

/// The answer to a refused sign-in: for a browser, back to the form with one
/// generic message; for a JSON client, the status.
fn refused(headers: &HeaderMap, limited: bool, next: &str) -> Response {
    let (status, code, message) = if limited {
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many sign-in attempts; wait a minute and try again")
    } else {
        (StatusCode::UNAUTHORIZED, "invalid_credentials", "e-mail or password is incorrect")
    };
    if wants_json(headers) {
        return json_error(status, code, message);
    }
    let error = if limited { "limited" } else { "invalid" };
    Redirect::to(&format!("/login?error={error}&next={}", crate::model::query_value(next))).into_response()
}

/// Sign-in attempts per account and address: 5 at once, then one a minute
/// (counted in the database, so the same for every instance).
const SIGN_IN_BURST: f64 = 5.0;
const SIGN_IN_PER_SECOND: f64 = 1.0 / 60.0;

/// `POST /login`: check the password, open a console session, go on to `next`.
pub async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let email = form.email.trim().to_lowercase();
    let next = safe_next(&form.next);
    let mut actor = Actor {
        email: email.clone(),
        ip: Some(client_ip(peer.ip(), &headers, &state.config.trusted_proxies).to_string()),
        user_agent: user_agent(&headers),
        ..Actor::default()
    };
    let failed = |reason: &str| Activity::new("session.sign_in", Category::Session).outcome(Outcome::Failure, reason);

    // Per account and address: a stranger guessing cannot lock the owner out.
    let attempt = format!("{email} {}", actor.ip.as_deref().unwrap_or_default());
    if !access::take_sign_in_attempt(&state.pool, &attempt, SIGN_IN_PER_SECOND, SIGN_IN_BURST).await? {
        audit::record(&state, &actor, failed("too many attempts for this account")).await;
        return Ok(refused(&headers, true, &next));
    }
    let found = access::user_for_sign_in(&state.pool, &email).await?;
    let user = match check_password(found, form.password).await {
        Ok(user) => user,
        Err(reason) => {
            audit::record(&state, &actor, failed(reason)).await;
            return Ok(refused(&headers, false, &next));
        }
    };
    let session_id = open_console_session(&state, &session, &actor, &user).await?;
    actor.user_id = Some(user.id);
    actor.role = Some(user.role.as_str().into());
    actor.session_id = Some(session_id);
    audit::record(&state, &actor, Activity::new("session.sign_in", Category::Session)).await;

    if wants_json(&headers) {
        return Ok(Json(json!({"signed_in": user.email, "role": user.role.as_str()})).into_response());
    }
    Ok(Redirect::to(&next).into_response())
}

/// The user signing in with `password`, or why not (for Vigil's own audit
/// event; the person signing in only learns that it failed). As slow for an
/// unknown e-mail as for a known one.
async fn check_password(found: Option<(ConsoleUser, String)>, password: String) -> Result<ConsoleUser, &'static str> {
    tokio::task::spawn_blocking(move || match found {
        None => {
            verify_nothing(&password);
            Err("unknown e-mail")
        }
        Some((user, hash)) => match (verify_password(&password, &hash), user.disabled) {
            (false, _) => Err("wrong password"),
            (true, true) => Err("account disabled"),
            (true, false) => Ok(user),
        },
    })
    .await
    .unwrap_or(Err("password check failed"))
}

/// Store a console session for `user` signing in as `actor` and put its id in
/// the cookie's record, under a new cookie id (so an id planted before cannot
/// ride along). Returns the console session's id.
async fn open_console_session(state: &AppState, session: &Session, actor: &Actor, user: &ConsoleUser) -> Result<String, ApiError> {
    let session_id = random_token(32);
    let client_info = state
        .pipeline
        .enricher
        .client_info(actor.user_agent.as_deref(), actor.ip.as_deref())
        .and_then(|c| serde_json::to_value(c).ok());
    let record = NewConsoleSession {
        id: &session_id,
        user_id: user.id,
        expires_at: Utc::now() + Duration::hours(state.config.console_session_hours),
        ip: actor.ip.clone(),
        user_agent: actor.user_agent.as_deref(),
        client_info,
    };
    access::create_console_session(&state.pool, &record).await?;
    session.cycle_id().await?;
    session.insert(SESSION_KEY, &session_id).await?;
    Ok(session_id)
}

/// `POST /logout`: end this console session.
pub async fn sign_out(
    State(state): State<AppState>,
    session: Session,
    Extension(principal): Extension<Principal>,
) -> Response {
    if let Err(error) = access::revoke_console_session(&state.pool, &principal.session_id, &principal.user.email).await {
        tracing::error!(%error, "ending a console session failed");
    }
    let _ = session.flush().await;
    audit::record(&state, &principal.actor(), Activity::new("session.sign_out", Category::Session)).await;
    Redirect::to("/login?signed_out=1").into_response()
}
