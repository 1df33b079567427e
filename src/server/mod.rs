//! Composition root: the router (console pages, server functions, HTTP API,
//! static files) behind the sign-in guard, and the serve loop. Nothing imports it.

pub mod auth;

use std::net::SocketAddr;

use axum::http::{header, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::GovernorLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::app::{shell, App};
use crate::api::{events_api, health, heartbeat, ingest, metrics, openapi};
use crate::error::ApiError;
use crate::state::AppState;

/// The whole application as one router, every route behind [`auth::guard`].
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let sessions = SessionManagerLayer::new(PostgresStore::new(state.pool.clone()))
        .with_name("vigil_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.cookies_secure())
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::hours(
            state.config.console_session_hours,
        )));
    let per_ip = GovernorConfigBuilder::default()
        .per_second(3)
        .burst_size(state.config.sign_in_ip_burst.max(1))
        .finish()
        .expect("a valid rate");
    let per_ip = GovernorLayer::new(per_ip).error_handler(|_| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "3"), (header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html><title>Too many attempts · Vigil</title><p>Too many sign-in attempts from this \
             address. Wait a moment, then <a href=\"/login\">try again</a>.</p>",
        )
            .into_response()
    });
    Router::new()
        .route("/login", post(auth::sign_in).layer(per_ip))
        .route("/logout", post(auth::sign_out))
        .route("/api/v1/events", post(ingest::post_events).get(events_api::list).fallback(only("GET, HEAD, POST")))
        .route("/api/v1/events/export", get(events_api::export).fallback(only("GET, HEAD")))
        .route("/api/v1/health", get(health::health).fallback(only("GET, HEAD")))
        .route("/api/v1/metrics", get(metrics::metrics).fallback(only("GET, HEAD")))
        .route("/api/v1/heartbeats/{token}", post(heartbeat::heartbeat).fallback(only("POST")))
        .route("/api/v1/{*path}", any(|uri: axum::http::Uri| async move { ApiError::NotFound(uri.path().to_string()) }))
        .route("/api/openapi.json", get(openapi::spec))
        .route("/events/export", get(events_api::download_filtered))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::guard))
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        .layer(axum::middleware::map_response(cache_for_good))
        .layer(sessions)
        .layer(TraceLayer::new_for_http())
        // Pages, server-function replies and exports; static files come
        // precompressed from a release build (`.ci/precompress`). Brotli at
        // quality 1: measured with 16 clients on the events page (1 M events),
        // 122–130 pages/s and 17.5 kB each against 99–107 and 14.4 kB at the
        // default quality 4, whose per-response tables cost more than a page's render
        // (gzip, for the rare client without brotli, at level 1 likewise).
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(1)))
        .with_state(state)
}

/// The answer of an API path to a method it does not take: 405, with the
/// methods it takes.
fn only(allow: &'static str) -> impl Fn(Method) -> std::future::Ready<ApiError> + Clone {
    move |method| std::future::ready(ApiError::MethodNotAllowed { method: method.to_string(), allow })
}

/// A bundle file whose name carries its content hash (`/pkg/vigil.<hash>.wasm`)
/// or a static file asked for by its current version (`crate::assets`) never
/// changes: browsers may keep it for a year without asking again.
async fn cache_for_good(uri: axum::http::Uri, mut response: axum::response::Response) -> axum::response::Response {
    let hashed = uri.path().strip_prefix("/pkg/").is_some_and(|file| file.split('.').count() >= 3)
        || crate::assets::is_current(uri.path(), uri.query());
    if hashed && response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("public, max-age=31536000, immutable"));
    }
    response
}

/// Serve until Ctrl-C or SIGTERM, then finish in-flight requests.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let addr = state.leptos_options.site_addr;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("Vigil is listening on http://{addr}");
    serve_on(listener, state.clone(), shutdown_signal()).await?;
    // Vigil's own events of the last requests are still queued.
    if tokio::time::timeout(AUDIT_FLUSH, crate::audit::writer::flush(&state)).await.is_err() {
        tracing::error!("self-audit events still queued at shutdown were not stored");
    }
    Ok(())
}

/// How long a stopping server waits for its queued self-audit events.
const AUDIT_FLUSH: std::time::Duration = std::time::Duration::from_secs(10);

/// How long the deriving worker waits when it has caught up.
const DERIVE_IDLE: std::time::Duration = std::time::Duration::from_millis(200);

/// Serve on a bound listener until `shutdown` completes; handlers see the
/// peer address. The background work of this instance stops with it.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _background = background(&state);
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// Start this instance's background work: each task takes its turn with the
/// other instances' (an advisory lock or a lease in the database), so any
/// number of instances may run it. Dropping the set stops it.
fn background(state: &AppState) -> tokio::task::JoinSet<()> {
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(crate::store::derive::run(state.pool.clone(), DERIVE_IDLE));
    tasks.spawn(crate::lifecycle::run(state.clone()));
    tasks.spawn(crate::integrity::run(state.pool.clone(), state.seal_key.clone(), state.config.lifecycle.clone()));
    if state.config.monitor.monitor_tick_ms > 0 {
        tasks.spawn(crate::monitor::run(state.clone()));
        tasks.spawn(crate::alerts::run(state.clone()));
    }
    if let Some(replica) = &state.replica {
        tasks.spawn(crate::store::replication::watch(state.pool.clone(), replica.clone()));
    }
    tasks
}

async fn shutdown_signal() {
    let ctrl_c = async { tokio::signal::ctrl_c().await.ok() };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}
