//! Spawning the application for a test.

use leptos::config::LeptosOptions;
use serde_json::Value;
use sqlx::PgPool;
use vigil::config::ServerConfig;
use vigil::server::serve_on;
use vigil::state::AppState;

pub const KEY: &str = "test-ingest-key";
/// Password of the console users tests create.
pub const PASSWORD: &str = "correct horse battery staple";
pub const EXPORT_KEY: &str = "test-export-key";
/// A request that gets no answer fails the test instead of hanging the whole run.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
    /// Where this app's seal key and checkpoint log are.
    pub lifecycle: vigil::config::LifecycleConfig,
    /// The server's state, for running its scheduled jobs with a set clock.
    pub state: AppState,
    /// Stops the server and its background work at once (an instance dying).
    pub server: tokio::task::AbortHandle,
}

/// Migrate the fresh database like `vigil serve` does and serve the app on port 0.
pub async fn spawn(pool: PgPool) -> TestApp {
    spawn_with(pool, ServerConfig::with_keys(KEY, EXPORT_KEY)).await
}

pub async fn spawn_with(pool: PgPool, config: ServerConfig) -> TestApp {
    trace_when_asked();
    vigil::store::migrate(&pool).await.expect("migrations apply");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let leptos_options = LeptosOptions::builder()
        .output_name("vigil")
        .site_root("target/site")
        .site_addr(addr)
        .build();
    let lifecycle = config.lifecycle.clone();
    let state = AppState::new(leptos_options, pool.clone(), config, &ingest_config()).unwrap();
    let served = state.clone();
    let server = tokio::spawn(async move { serve_on(listener, served, std::future::pending()).await.unwrap() }).abort_handle();
    let client = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().unwrap();
    TestApp { base: format!("http://{addr}"), pool, client, lifecycle, state, server }
}

/// Another instance named `name` on the same database as `pool`, with
/// connections of its own (as another process would have).
pub async fn spawn_instance(pool: &PgPool, name: &str) -> TestApp {
    let own = sqlx::postgres::PgPoolOptions::new().max_connections(8).connect_with((*pool.connect_options()).clone()).await.unwrap();
    let mut config = ServerConfig::with_keys(KEY, EXPORT_KEY);
    config.scale.instance = Some(name.into());
    spawn_with(own, config).await
}

impl TestApp {
    /// POST a JSON body to the ingest API with the test key; returns status and JSON reply.
    pub async fn ingest(&self, body: &Value) -> (u16, Value) {
        self.ingest_raw(body.to_string(), "application/json", Some(KEY)).await
    }

    pub async fn ingest_raw(&self, body: String, content_type: &str, key: Option<&str>) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/api/v1/events", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("request is answered");
        let status = response.status().as_u16();
        let json = response.json::<Value>().await.expect("the reply is JSON");
        self.derived().await;
        (status, json)
    }

    /// Wait until every committed batch is derived (deriving here; the
    /// server's own worker takes turns with it). Other tests' transactions in
    /// the same cluster may hold the watermark back for a moment.
    pub async fn derived(&self) {
        vigil::store::derive::catch_up(&self.pool, REQUEST_TIMEOUT).await.expect("deriving succeeds");
    }

    /// The app's seal key (read from its file, as `vigil verify` does).
    pub fn seal_key(&self) -> vigil::state::seal_key::SealKey {
        vigil::state::seal_key::SealKey::load_or_create(&self.lifecycle.seal_key).unwrap()
    }

    /// Seal every committed batch and write a checkpoint.
    pub async fn seal(&self) -> vigil::store::seal::Checkpoint {
        let webhook = vigil::integrity::Webhook::from_config(&self.lifecycle);
        vigil::integrity::seal_now(&self.pool, &self.seal_key(), &self.lifecycle.checkpoint_log, webhook.as_ref(), REQUEST_TIMEOUT)
            .await
            .expect("sealing succeeds")
    }

    /// Verify the store against the app's key and checkpoint log.
    pub async fn verify(&self) -> vigil::model::VerifyReport {
        let key = self.seal_key().public_key();
        vigil::integrity::verify(&self.pool, &key, Some(&self.lifecycle.checkpoint_log), None, &mut |_, _, _| {})
            .await
            .expect("verification runs")
    }

    /// GET an API path with a bearer key; its JSON reply.
    pub async fn get_json(&self, path: &str, key: &str) -> Value {
        let response = self.client.get(format!("{}{path}", self.base)).bearer_auth(key).send().await.unwrap();
        response.json().await.expect("the reply is JSON")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

/// `TEST_LOG=1` prints the server's tracing output (`RUST_LOG` filters it),
/// so a failing test shows the logged cause.
pub fn trace_when_asked() {
    if std::env::var_os("TEST_LOG").is_some() {
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

/// A valid event with the given id and time.
pub fn event(id: &str, occurred_at: &str) -> Value {
    serde_json::json!({
        "id": id,
        "occurred_at": occurred_at,
        "environment": "production",
        "organization": {"id": "org_1", "name": "Acme"},
        "type": "role.permission_add",
        "actor": {"id": "u1", "name": "Ana Silva", "email": "ana@acme.example"},
        "target": {"type": "role", "id": "role_support", "name": "Support"},
        "changes": [{"field": "permissions", "old": ["a"], "new": ["a", "b"]}],
        "client": {"ip": "81.2.69.160", "user_agent": "Mozilla/5.0"}
    })
}

/// Enrichment as `make test` configures it: the DB-IP database when installed.
pub fn ingest_config() -> vigil::config::IngestConfig {
    vigil::config::IngestConfig {
        geoip_db: std::env::var_os("VIGIL_GEOIP_DB").map(Into::into),
        ..Default::default()
    }
}

/// A browser-like client of the console: its own cookie jar, redirects not followed.
pub struct Console {
    pub client: reqwest::Client,
    pub email: String,
    base: String,
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap()
}

/// The URL path of a server function, by its Rust name.
pub fn server_fn_path(name: &str) -> String {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .find(|path| {
            let last = path.rsplit('/').next().unwrap_or("");
            last.strip_prefix(name).is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
        })
        .unwrap_or_else(|| panic!("no server function {name}"))
        .to_string()
}

impl Console {
    /// GET a page as a browser does (accepting HTML).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).header("accept", "text/html").send().await.unwrap()
    }

    /// Call a server function as the page would (same-origin POST of a form).
    pub async fn call(&self, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.base, server_fn_path(name)))
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Call a server function that must succeed; its JSON reply.
    pub async fn call_ok(&self, name: &str, form: &[(&str, &str)]) -> Value {
        let response = self.call(name, form).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 200, "{name}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

impl TestApp {
    /// Create a console user with [`PASSWORD`].
    pub async fn add_user(&self, email: &str, role: &str, environments: &[&str], organizations: &[&str]) {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        let scope = vigil::model::Scope::new(list(environments), list(organizations));
        let role = vigil::model::Role::parse(role).unwrap();
        let hash = vigil::auth::hash_password(PASSWORD);
        vigil::store::access::upsert_user(&self.pool, email, &hash, role, &scope, true).await.unwrap();
    }

    /// POST the sign-in form from a fresh browser; the response and the browser.
    pub async fn try_sign_in(&self, email: &str, password: &str) -> (reqwest::Response, reqwest::Client) {
        let client = browser();
        let response = client
            .post(format!("{}/login", self.base))
            .header("origin", &self.base)
            .header("accept", "application/json")
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        (response, client)
    }

    pub async fn sign_in(&self, email: &str) -> Console {
        let (response, client) = self.try_sign_in(email, PASSWORD).await;
        assert_eq!(response.status(), 200, "{email} signs in");
        Console { client, email: email.to_string(), base: self.base.clone() }
    }

    /// A signed-in console user with this role who may read all data.
    pub async fn console(&self, role: &str) -> Console {
        let email = format!("{role}@example.com");
        self.add_user(&email, role, &["*"], &["*"]).await;
        self.sign_in(&email).await
    }
}

/// A filter from a URL query, read as an auditor would: all data.
pub fn reading_all(query: &str) -> vigil::model::EventFilter {
    vigil::model::EventFilter { scope: vigil::model::Scope::everything(), ..vigil::model::EventFilter::from_query(query) }
}

/// A sessions filter from a URL query, read with all data in scope.
pub fn sessions_reading_all(query: &str) -> vigil::model::SessionFilter {
    vigil::model::SessionFilter { scope: vigil::model::Scope::everything(), ..vigil::model::SessionFilter::from_query(query) }
}

/// The URL of the test's own database: `DATABASE_URL` (with its password) naming it.
pub fn database_url(pool: &PgPool) -> String {
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").expect("DATABASE_URL is set")).unwrap();
    url.set_path(pool.connect_options().get_database().unwrap_or("postgres"));
    url.to_string()
}
