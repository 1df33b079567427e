//! Composition root: application state, the router (console pages, server
//! functions, HTTP API, static files) and the serve loop.

use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use tower_http::trace::TraceLayer;

use crate::app::{shell, App};
use crate::api::rate_limit::RateLimiter;
use crate::api::token::Signer;
use crate::api::{events_api, ingest, openapi};
use crate::config::{IngestConfig, ServerConfig};
use crate::ingest::Pipeline;

/// Everything a request handler or server function may need.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub config: Arc<ServerConfig>,
    pub signer: Arc<Signer>,
    pub limiter: Arc<RateLimiter>,
    pub pipeline: Pipeline,
    pub session_idle_minutes: i64,
}

impl AppState {
    pub fn new(
        leptos_options: LeptosOptions,
        pool: PgPool,
        config: ServerConfig,
        ingest: &IngestConfig,
    ) -> anyhow::Result<Self> {
        Ok(AppState {
            leptos_options,
            pool,
            pipeline: Pipeline::new(ingest)?,
            session_idle_minutes: ingest.session_idle_minutes,
            signer: Arc::new(Signer::new(config.secret.as_deref())),
            limiter: Arc::new(RateLimiter::new(config.api_rate, config.api_burst)),
            config: Arc::new(config),
        })
    }
}

/// The whole application as one router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    Router::new()
        .route("/api/v1/events", post(ingest::post_events).get(events_api::list))
        .route("/api/v1/events/export", get(events_api::export))
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
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serve until Ctrl-C or SIGTERM, then finish in-flight requests.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let addr = state.leptos_options.site_addr;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("Vigil is listening on http://{addr}");
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
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
