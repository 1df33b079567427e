//! Typed configuration, read once at start-up from the command line or the
//! environment. Every variable is documented in `.env.example`.

use clap::Args;

/// Where the event store lives.
#[derive(Args, Clone, Debug)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// Largest number of pooled connections.
    #[arg(long, env = "VIGIL_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

/// How events are enriched and redacted on ingest (`vigil serve` and `vigil demo`).
#[derive(Args, Clone, Debug)]
pub struct IngestConfig {
    /// MaxMind-format city database (DB-IP City Lite, GeoLite2 City) for locating
    /// client IPs; without it events carry no location.
    #[arg(long, env = "VIGIL_GEOIP_DB")]
    pub geoip_db: Option<std::path::PathBuf>,

    /// More key fragments whose values are redacted before storage, comma-separated
    /// (matched case-insensitively, ignoring `_`, `-` and `.`), added to the
    /// built-in password, secret, token, authorization, cookie, api key, jwt….
    #[arg(long, env = "VIGIL_REDACT_KEYS", value_delimiter = ',')]
    pub redact_keys: Vec<String>,

    /// Minutes without activity after which a session counts as ended.
    #[arg(long, env = "VIGIL_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: i64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig { geoip_db: None, redact_keys: Vec::new(), session_idle_minutes: 30 }
    }
}

/// Settings of the HTTP server and its APIs.
#[derive(Args, Clone, Debug)]
pub struct ServerConfig {
    /// Bearer key that ingest clients must send (`Authorization: Bearer <key>`).
    #[arg(long, env = "VIGIL_INGEST_KEY", hide_env_values = true)]
    pub ingest_key: String,

    /// Bearer key that export and list clients (SIEM tools) send.
    #[arg(long, env = "VIGIL_EXPORT_KEY", hide_env_values = true)]
    pub export_key: String,

    /// Secret that signs page tokens and export cursors, at least 32 bytes. When
    /// unset, one is generated on the first start and kept in the database.
    #[arg(long, env = "VIGIL_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// Requests per second each API key may make to the list and export APIs.
    #[arg(long, env = "VIGIL_API_RATE", default_value_t = 10.0)]
    pub api_rate: f64,

    /// Requests an API key may make at once before the rate applies.
    #[arg(long, env = "VIGIL_API_BURST", default_value_t = 20.0)]
    pub api_burst: f64,

    /// Largest accepted ingest request body, in bytes.
    #[arg(long, env = "VIGIL_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest number of events in one ingest request.
    #[arg(long, env = "VIGIL_MAX_BATCH_EVENTS", default_value_t = 10_000)]
    pub max_batch_events: usize,

    /// Send the console cookie only over HTTPS. On by itself when
    /// `VIGIL_PUBLIC_URL` is https.
    #[arg(long, env = "VIGIL_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// The address people open the console at (e.g. `https://vigil.example.com`),
    /// when it differs from the one Vigil listens on (behind a reverse proxy):
    /// requests that change something must come from this origin.
    #[arg(long, env = "VIGIL_PUBLIC_URL")]
    pub public_url: Option<url::Url>,

    /// Addresses of reverse proxies whose `X-Forwarded-For` names the client
    /// (comma-separated). Other peers' `X-Forwarded-For` is ignored.
    #[arg(long, env = "VIGIL_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Minutes without a request after which a console sign-in ends.
    #[arg(long, env = "VIGIL_CONSOLE_IDLE_MINUTES", default_value_t = 30)]
    pub console_idle_minutes: i64,

    /// Hours after which a console sign-in ends however active it is.
    #[arg(long, env = "VIGIL_CONSOLE_SESSION_HOURS", default_value_t = 12)]
    pub console_session_hours: i64,

    /// Sign-in attempts one IP address may make at once; afterwards one every 3 s.
    /// (Each account also gets 5 attempts at once, then one a minute.)
    #[arg(long, env = "VIGIL_SIGN_IN_IP_BURST", default_value_t = 20)]
    pub sign_in_ip_burst: u32,

    /// Database connections that write ingest batches: that many batches commit
    /// at once, later ones wait. Defaults to the number of CPU cores (at least 2).
    #[arg(long, env = "VIGIL_INGEST_WRITERS", default_value_t = default_writers())]
    pub ingest_writers: u32,

    /// Milliseconds a console read (page, chart, options, list API) may run in
    /// the database before it is stopped with a message to narrow the search.
    #[arg(long, env = "VIGIL_STATEMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub statement_timeout_ms: u64,

    /// Milliseconds an export page or an ingest batch may run in the database.
    #[arg(long, env = "VIGIL_EXPORT_STATEMENT_TIMEOUT_MS", default_value_t = 60_000)]
    pub export_statement_timeout_ms: u64,

    /// Largest accepted event, in bytes of JSON; a larger one is rejected by field.
    #[arg(long, env = "VIGIL_MAX_EVENT_BYTES", default_value_t = 64 * 1024)]
    pub max_event_bytes: usize,

    #[command(flatten)]
    pub lifecycle: LifecycleConfig,

    #[command(flatten)]
    pub monitor: MonitorConfig,

    #[command(flatten)]
    pub scale: ScaleConfig,
}

/// Running as one of several instances, and reading from a streaming replica.
#[derive(Args, Clone, Debug)]
pub struct ScaleConfig {
    /// This instance's name, shown as the database connections' application
    /// name (`vigil <name>`) and on the health endpoint. Default: host and pid.
    #[arg(long, env = "VIGIL_INSTANCE")]
    pub instance: Option<String>,

    /// A hot standby of `DATABASE_URL` (PostgreSQL streaming replication) that
    /// console reads go to: explorer, chart, option lists, sessions, detail and
    /// settings pages. Writes, API keys, sign-in and the export stay on the primary.
    #[arg(long, env = "VIGIL_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,

    /// Seconds the replica may lag behind the primary before console reads
    /// go back to the primary (until it has caught up).
    #[arg(long, env = "VIGIL_READ_MAX_LAG_SECONDS", default_value_t = 10.0)]
    pub read_max_lag_seconds: f64,
}

/// Availability checks and alerts: how often the scheduler and the evaluator
/// look, how many checks run at once, how long results are kept.
#[derive(Args, Clone, Debug)]
pub struct MonitorConfig {
    /// Milliseconds between looks for due checks, new batches to evaluate and
    /// notifications to send; 0 turns checks, alert evaluation and delivery off.
    #[arg(long, env = "VIGIL_MONITOR_TICK_MS", default_value_t = 500)]
    pub monitor_tick_ms: u64,

    /// Checks that may run at once; more wait for their turn.
    #[arg(long, env = "VIGIL_CHECK_CONCURRENCY", default_value_t = 64)]
    pub check_concurrency: usize,

    /// Days check results are kept (dropped a month at a time).
    #[arg(long, env = "VIGIL_CHECK_RESULTS_DAYS", default_value_t = 90)]
    pub check_results_days: i64,

    /// Seconds before the first retry of a failed notification; each further
    /// retry waits twice as long, and the sixth failure gives up.
    #[arg(long, env = "VIGIL_ALERT_RETRY_SECONDS", default_value_t = 10)]
    pub alert_retry_seconds: i64,

    /// Seconds an any-match rule gathers further matches after notifying:
    /// its first match notifies at once, the ones that follow at most once
    /// per this interval, together.
    #[arg(long, env = "VIGIL_ALERT_GATHER_SECONDS", default_value_t = 60)]
    pub alert_gather_seconds: i64,
}

impl MonitorConfig {
    /// Settings for tests: nothing runs by itself; tests drive checks,
    /// evaluation and delivery with a clock they set.
    pub fn driven_by_tests() -> Self {
        MonitorConfig { monitor_tick_ms: 0, check_concurrency: 64, check_results_days: 90, alert_retry_seconds: 10, alert_gather_seconds: 60 }
    }
}

/// Where the seal key and the checkpoint log are unless configured (`serve`, `verify`).
pub const DEFAULT_SEAL_KEY: &str = ".vigil/seal.key";
pub const DEFAULT_CHECKPOINT_LOG: &str = ".vigil/checkpoints.jsonl";

/// Retention and tamper evidence: where the signing key and the checkpoints
/// live (outside the database), how often checkpoints and purges run.
#[derive(Args, Clone, Debug)]
pub struct LifecycleConfig {
    /// The Ed25519 key (PKCS#8 PEM) that signs checkpoints and retention
    /// drops; generated with mode 0600 on the first start. Keep a copy of its
    /// public key (`vigil verify --public-key`) away from this machine.
    #[arg(long, env = "VIGIL_SEAL_KEY", default_value = DEFAULT_SEAL_KEY)]
    pub seal_key: std::path::PathBuf,

    /// File every signed checkpoint is appended to (JSON lines), outside the database.
    #[arg(long, env = "VIGIL_CHECKPOINT_LOG", default_value = DEFAULT_CHECKPOINT_LOG)]
    pub checkpoint_log: std::path::PathBuf,

    /// Also POST every checkpoint (the JSON line of the log) to this URL, so
    /// that a copy lives where the database's administrators cannot reach.
    #[arg(long, env = "VIGIL_CHECKPOINT_WEBHOOK")]
    pub checkpoint_webhook: Option<url::Url>,

    /// Seconds between checkpoints while events arrive (one an hour regardless).
    #[arg(long, env = "VIGIL_CHECKPOINT_SECONDS", default_value_t = 60)]
    pub checkpoint_seconds: u64,

    /// Days an environment's events are kept unless Settings → Data says otherwise.
    #[arg(long, env = "VIGIL_RETENTION_DAYS", default_value_t = 400)]
    pub retention_days: i32,

    /// Minutes between retention runs (each drops the monthly partitions whose
    /// every environment's period has passed); 0 turns the scheduled runs off.
    #[arg(long, env = "VIGIL_PURGE_MINUTES", default_value_t = 60)]
    pub purge_minutes: u64,

    /// Folder where a partition is archived (gzip NDJSON, read back and hashed)
    /// before it is dropped; without it, partitions are dropped unarchived.
    #[arg(long, env = "VIGIL_ARCHIVE_DIR")]
    pub archive_dir: Option<std::path::PathBuf>,
}

impl LifecycleConfig {
    /// Settings for tests: a fresh folder for the key and the checkpoint log.
    pub fn in_temp_folder() -> Self {
        let folder = std::env::temp_dir().join(format!("vigil-{}", uuid::Uuid::new_v4()));
        LifecycleConfig {
            seal_key: folder.join("seal.key"),
            checkpoint_log: folder.join("checkpoints.jsonl"),
            checkpoint_webhook: None,
            checkpoint_seconds: 60,
            retention_days: 400,
            // Tests run retention themselves, with a clock they set.
            purge_minutes: 0,
            archive_dir: None,
        }
    }
}

fn default_writers() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u32).max(2)
}

impl ServerConfig {
    /// Whether the console cookie is sent over HTTPS only.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies || self.public_url.as_ref().is_some_and(|u| u.scheme() == "https")
    }

    /// The console's public origin (`https://vigil.example.com`), when configured.
    pub fn public_origin(&self) -> Option<String> {
        self.public_url.as_ref().map(|u| u.origin().ascii_serialization())
    }

    /// Where people open the console: `VIGIL_PUBLIC_URL`, or the address Vigil listens on.
    pub fn console_base(&self, listening: std::net::SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{listening}"),
        }
    }

    /// The idle limit of a console sign-in, in seconds.
    pub fn console_idle_seconds(&self) -> i64 {
        self.console_idle_minutes * 60
    }

    /// Settings for tests and embedding: the given keys and the documented defaults.
    pub fn with_keys(ingest_key: impl Into<String>, export_key: impl Into<String>) -> Self {
        ServerConfig {
            ingest_key: ingest_key.into(),
            export_key: export_key.into(),
            secret: Some("a test secret of at least thirty-two bytes".into()),
            api_rate: 10.0,
            api_burst: 20.0,
            max_body_bytes: 10 * 1024 * 1024,
            max_batch_events: 10_000,
            secure_cookies: false,
            public_url: None,
            trusted_proxies: Vec::new(),
            console_idle_minutes: 30,
            console_session_hours: 12,
            sign_in_ip_burst: 20,
            ingest_writers: default_writers(),
            statement_timeout_ms: 10_000,
            export_statement_timeout_ms: 60_000,
            max_event_bytes: 64 * 1024,
            lifecycle: LifecycleConfig::in_temp_folder(),
            monitor: MonitorConfig::driven_by_tests(),
            scale: ScaleConfig { instance: None, read_database_url: None, read_max_lag_seconds: 10.0 },
        }
    }
}
