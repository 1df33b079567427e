//! Application state: what a request handler, server function or background
//! task may need (pools, configuration, the token signer, the seal key, rate
//! limiters, the ingest pipeline, kept read results). Every layer may use it; it
//! knows no layer above it: the modules it names besides configuration,
//! errors and the shared types of `model` are `ingest`, for the types of the
//! pipeline and the rule cache it holds, and `query`, for the read results it
//! keeps (`query::memo`); neither knows anything of the state.

pub mod rate_limit;
pub mod replica;
pub mod seal_key;
pub mod token;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::{IngestConfig, ServerConfig};
use crate::ingest::rules::RuleCache;
use crate::ingest::{NewEvent, Pipeline};
use crate::model::{Scope, SessionOptions};
use crate::query::memo::Memo;
use crate::query::{Count, PastCounts, ValueCounts, ValueDays};
use rate_limit::RateLimiter;
use replica::Replica;
use seal_key::SealKey;
use token::Signer;

/// Everything a request handler or server function may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Connections as the login role, which owns the schema: migrations and
    /// retention (the only drops). Everything else goes through the pools
    /// below, which act as [`APP_ROLE`].
    pub owner: PgPool,
    /// Console reads and everything small, stopped after `VIGIL_STATEMENT_TIMEOUT_MS`.
    pub pool: PgPool,
    /// The connections ingest writes through (`VIGIL_INGEST_WRITERS`).
    pub writers: PgPool,
    /// The connections exports stream through: a few at once, each statement
    /// allowed `VIGIL_EXPORT_STATEMENT_TIMEOUT_MS`.
    pub exports: PgPool,
    pub config: Arc<ServerConfig>,
    pub signer: Arc<Signer>,
    pub limiter: Arc<RateLimiter>,
    /// Failed API-key checks per address and per key prefix.
    pub auth_failures: Arc<RateLimiter>,
    /// Server-function calls per console session.
    pub console_limiter: Arc<RateLimiter>,
    pub pipeline: Pipeline,
    pub session_idle_minutes: i64,
    /// Signs checkpoints and retention drops (`VIGIL_SEAL_KEY`).
    pub seal_key: Arc<SealKey>,
    /// The recording rules in force, as last read.
    pub recording_rules: Arc<RuleCache>,
    /// This instance's name among those sharing the database (`VIGIL_INSTANCE`).
    pub instance: Arc<str>,
    /// The streaming replica console reads may go to (`VIGIL_READ_DATABASE_URL`).
    pub replica: Option<Arc<Replica>>,
    /// Vigil's own events on their way to the database (`audit::writer`
    /// starts the task that drains it on first use).
    pub audit_queue: Arc<OnceLock<tokio::sync::mpsc::Sender<QueuedEvent>>>,
    /// The sessions page's filter choices per scope, as of the deriving worker's position.
    pub session_options: Arc<Memo<Scope, SessionOptions>>,
    /// The explorer's option counts over past days, as of their last change.
    pub past_value_counts: Arc<Memo<ValueDays, ValueCounts>>,
    /// The compare page's daily counts over past days, as of their last
    /// change (≈0.3 MB per view over 30 days at 1 M events: a few dozen views).
    pub past_counts: Arc<Memo<PastCounts, Vec<Count>>>,
    /// The explorer charts' counts over past hours, as of their last change
    /// (a day in quarter hours ≈600 rows, 90 days ≈1 600).
    pub past_chart_counts: Arc<Memo<PastCounts, Vec<Count>>>,
    /// What this instance counts for `GET /api/v1/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// One of Vigil's own events waiting to be stored, and whoever waits for its
/// commit (without an event: for everything queued before it).
pub struct QueuedEvent {
    pub event: Option<NewEvent>,
    pub committed: Option<tokio::sync::oneshot::Sender<bool>>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Wrong API keys one address (or one key prefix) may present at once, then per minute.
const AUTH_FAILURES_BURST: f64 = 20.0;
const AUTH_FAILURES_PER_MINUTE: f64 = 10.0;
/// Server-function calls one console session may make at once, then per second.
const CONSOLE_CALLS_BURST: f64 = 100.0;
const CONSOLE_CALLS_PER_SECOND: f64 = 20.0;
/// Compare views whose daily counts of past days are kept.
const PAST_COUNTS_KEPT: usize = 32;
/// Explorer charts whose counts of past hours are kept.
const PAST_CHARTS_KEPT: usize = 128;

/// The database role the server's pools act as: it cannot UPDATE, DELETE or
/// TRUNCATE events, their ids, the ledger, the chain or the checkpoints
/// (migration 20).
pub const APP_ROLE: &str = "vigil_app";

/// What every connection of an instance is named before the instance's name
/// (`application_name`): how the instances are told apart in `pg_stat_activity`.
pub const CONNECTION_PREFIX: &str = "vigil ";

/// Exports that may read at once; more wait for a connection.
const EXPORT_CONNECTIONS: u32 = 4;

impl AppState {
    pub fn new(
        leptos_options: LeptosOptions,
        pool: PgPool,
        config: ServerConfig,
        ingest: &IngestConfig,
    ) -> anyhow::Result<Self> {
        let reads = Duration::from_millis(config.statement_timeout_ms);
        let long = Duration::from_millis(config.export_statement_timeout_ms);
        let connections = pool.options().get_max_connections();
        let instance: Arc<str> = config.scale.instance.clone().unwrap_or_else(default_instance).into();
        let connect = |options: &PgConnectOptions| options.clone().application_name(&format!("{CONNECTION_PREFIX}{instance}"));
        let primary = connect(pool.connect_options().as_ref());
        let replica = match config.scale.read_database_url.as_deref().filter(|url| !url.is_empty()) {
            None => None,
            Some(url) => {
                let options = connect(&url.parse::<PgConnectOptions>()?.options(crate::store::SESSION_SETTINGS));
                let pool = limited_pool(&options, connections, Duration::from_secs(2), reads);
                Some(Arc::new(Replica::new(pool, config.scale.read_max_lag_seconds)))
            }
        };
        Ok(AppState {
            leptos_options,
            writers: limited_pool(&primary, config.ingest_writers, Duration::from_secs(10), long),
            exports: limited_pool(&primary, EXPORT_CONNECTIONS, Duration::from_secs(10), long),
            pool: limited_pool(&primary, connections, Duration::from_secs(5), reads),
            owner: pool,
            instance,
            replica,
            pipeline: Pipeline::new(ingest)?,
            session_idle_minutes: ingest.session_idle_minutes,
            signer: Arc::new(Signer::new(config.secret.as_deref().unwrap_or_default())?),
            limiter: Arc::new(RateLimiter::new(config.api_rate, config.api_burst)),
            auth_failures: Arc::new(RateLimiter::new(AUTH_FAILURES_PER_MINUTE / 60.0, AUTH_FAILURES_BURST)),
            console_limiter: Arc::new(RateLimiter::new(CONSOLE_CALLS_PER_SECOND, CONSOLE_CALLS_BURST)),
            seal_key: Arc::new(SealKey::load_or_create(&config.lifecycle.seal_key)?),
            recording_rules: Arc::default(),
            audit_queue: Arc::default(),
            session_options: Arc::default(),
            past_value_counts: Arc::default(),
            past_counts: Arc::new(Memo::bounded(PAST_COUNTS_KEPT)),
            past_chart_counts: Arc::new(Memo::bounded(PAST_CHARTS_KEPT)),
            metrics: Arc::default(),
            config: Arc::new(config),
        })
    }

    /// The pool a console read goes to for a reader whose last change is at
    /// WAL position `after`: the replica while it is usable and has replayed
    /// that far, the primary otherwise.
    pub fn reads(&self, after: Option<i64>) -> &PgPool {
        match &self.replica {
            Some(replica) if replica.serves(after) => &replica.pool,
            _ => &self.pool,
        }
    }
}

/// This instance's name when `VIGIL_INSTANCE` is not set: host name and process id.
fn default_instance() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{}:{}", host.trim(), std::process::id())
}

/// A pool to the database of `options`, acting as [`APP_ROLE`], with its
/// own size and a time limit on every statement: ingest writes through one (`writers` connections, so
/// that that many batches commit in parallel and further requests wait their
/// turn, up to `acquire` — then, as when the database is away, the answer is a
/// 503), console reads and exports through others.
fn limited_pool(options: &PgConnectOptions, connections: u32, acquire: Duration, statement_timeout: Duration) -> PgPool {
    let options = options
        .clone()
        .options([("statement_timeout", format!("{}ms", statement_timeout.as_millis())), ("role", APP_ROLE.to_string())]);
    PgPoolOptions::new().max_connections(connections.max(1)).acquire_timeout(acquire).connect_lazy_with(options)
}
