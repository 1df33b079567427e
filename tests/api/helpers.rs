//! Spawning the application for a test.

use leptos::config::LeptosOptions;
use serde_json::Value;
use sqlx::PgPool;
use vigil::config::ServerConfig;
use vigil::server::{serve_on, AppState};

pub const KEY: &str = "test-ingest-key";
pub const EXPORT_KEY: &str = "test-export-key";

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
}

/// Migrate the fresh database like `vigil serve` does and serve the app on port 0.
pub async fn spawn(pool: PgPool) -> TestApp {
    spawn_with(pool, ServerConfig::with_keys(KEY, EXPORT_KEY)).await
}

pub async fn spawn_with(pool: PgPool, config: ServerConfig) -> TestApp {
    vigil::store::migrate(&pool).await.expect("migrations apply");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let leptos_options = LeptosOptions::builder()
        .output_name("vigil")
        .site_root("target/site")
        .site_addr(addr)
        .build();
    let state = AppState::new(leptos_options, pool.clone(), config, &ingest_config()).unwrap();
    tokio::spawn(async move { serve_on(listener, state, std::future::pending()).await.unwrap() });
    TestApp { base: format!("http://{addr}"), pool, client: reqwest::Client::new() }
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
        (status, json)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
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
