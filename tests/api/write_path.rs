//! The write path: concurrent writers and a held transaction against the
//! gap-free export, event ids unique per environment and organization, the
//! deriving worker against a recount from the events, session flags whatever
//! the arrival order, and the server killed mid-ingest.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use sqlx::PgPool;
use vigil::config::ServerConfig;

use crate::export::follow;
use crate::helpers::{database_url, spawn, spawn_with, TestApp, EXPORT_KEY, KEY, REQUEST_TIMEOUT};

fn fast_reads() -> ServerConfig {
    let mut config = ServerConfig::with_keys(KEY, EXPORT_KEY);
    config.api_rate = 10_000.0;
    config.api_burst = 10_000.0;
    config
}

/// A mixed batch: two environments, three organizations, apps, types,
/// outcomes, sessions that span batches, and times over the last three days.
pub fn mixed_batch(writer: usize, batch: usize, size: usize) -> Vec<Value> {
    let now = Utc::now();
    (0..size)
        .map(|i| {
            let n = writer * 7919 + batch * 131 + i;
            let environment = ["production", "staging"][n % 2];
            let event_type = ["app.view", "role.update", "session.sign_in", "query.execute"][n % 4];
            let outcome = ["success", "success", "failure", "denied"][n % 4];
            let ip = ["81.2.69.160", "8.8.8.8", "1.1.1.1"][n % 3];
            json!({
                "id": format!("w{writer}-b{batch}-{i}"),
                "occurred_at": (now - chrono::Duration::minutes((n * 37 % 4000) as i64)).to_rfc3339(),
                "environment": environment,
                "organization": {"id": format!("org_{}", n % 3), "name": format!("Org {}", n % 3)},
                "app": {"id": format!("app_{}", n % 4), "name": format!("App {}", n % 4)},
                "type": event_type,
                "outcome": outcome,
                "actor": {"id": format!("u{}", n % 11), "name": format!("User {}", n % 11), "session_id": format!("s{}", n % 17)},
                "target": {"type": "role", "id": format!("role_{}", n % 5), "name": "Support"},
                "request": {"method": "POST", "path": format!("/api/roles/{}", n % 5)},
                "client": {"ip": ip, "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"},
            })
        })
        .collect()
}

pub async fn post(client: &reqwest::Client, base: &str, batch: &[Value]) -> reqwest::Result<reqwest::Response> {
    client.post(format!("{base}/api/v1/events")).bearer_auth(KEY).json(&batch).send().await
}

fn ids(batch: &[Value]) -> Vec<String> {
    batch.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

#[sqlx::test(migrations = false)]
async fn the_export_gets_every_acknowledged_event_once_from_8_writers_and_one_held_transaction(pool: PgPool) {
    let app = spawn_with(pool, fast_reads()).await;
    // Each writer sends 15 batches, then 2 more once the exporter has received
    // something: so the export surely runs while writers still write.
    let exporter_started = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (client, base, started) = (app.client.clone(), app.base.clone(), exporter_started.clone());
            tokio::spawn(async move {
                let mut sent = Vec::new();
                for b in 0..17 {
                    while b == 15 && !started.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    let batch = mixed_batch(w, b, 40);
                    let response = post(&client, &base, &batch).await.unwrap();
                    assert_eq!(response.status(), 200);
                    sent.extend(ids(&batch));
                }
                sent
            })
        })
        .collect();
    // A ninth writer holds its transaction open for three seconds mid-run.
    let held = {
        let pool = app.pool.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let batch = mixed_batch(99, 0, 25);
            let events: Vec<_> = batch.iter().map(|v| vigil::ingest::validate(0, v, Utc::now()).unwrap()).collect();
            let days: Vec<_> = events.iter().map(|e| e.occurred_at.date_naive()).collect();
            vigil::store::ensure_partitions(&pool, &days).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            vigil::store::write::write_batch(&mut tx, &events).await.unwrap();
            tokio::time::sleep(Duration::from_secs(3)).await;
            tx.commit().await.unwrap();
            ids(&batch)
        })
    };
    let holder_seen = {
        let (client, base) = (app.client.clone(), app.base.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(2000)).await;
            let health: Value = client.get(format!("{base}/api/v1/health")).bearer_auth(EXPORT_KEY).send().await.unwrap().json().await.unwrap();
            health["ledger"]["watermark_holder"]["pid"].as_i64().is_some()
        })
    };

    let total = 8 * 17 * 40 + 25;
    let (mut cursor, mut seen, mut exported_midway) = (None, Vec::new(), false);
    while !(writers.iter().all(|w| w.is_finished()) && held.is_finished()) {
        follow(&app, &mut cursor, &mut seen).await;
        if !seen.is_empty() && !exporter_started.swap(true, Ordering::SeqCst) {
            exported_midway = seen.len() < total;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sent = BTreeSet::new();
    for writer in writers {
        sent.extend(writer.await.unwrap());
    }
    sent.extend(held.await.unwrap());
    // Other tests' transactions in the same cluster may hold the watermark
    // back for a moment: keep following until it has passed the last commit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        follow(&app, &mut cursor, &mut seen).await;
        if seen.len() >= total || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    assert_eq!(sent.len(), total);
    assert!(exported_midway, "the export ran while the writers wrote, and read part of what they wrote");
    assert!(holder_seen.await.unwrap(), "the health endpoint names the transaction that holds the watermark");
    let exported: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(exported.len(), seen.len(), "no event exported twice");
    let missing: Vec<_> = sent.difference(&exported).collect();
    let unexpected: Vec<_> = exported.difference(&sent).collect();
    assert!(missing.is_empty() && unexpected.is_empty(), "missing {missing:?}, unexpected {unexpected:?}");
    let mut again = Vec::new();
    follow(&app, &mut None, &mut again).await;
    assert_eq!(again, seen, "the order is stable");
}

#[sqlx::test(migrations = false)]
async fn an_event_id_is_unique_per_environment_and_organization(pool: PgPool) {
    let app = spawn(pool).await;
    let event = crate::helpers::event("same", &Utc::now().to_rfc3339());
    let batch = json!([event]);
    let ((_, a), (_, b)) = tokio::join!(app.ingest(&batch), app.ingest(&batch));
    assert_eq!(a["accepted"].as_u64().unwrap() + b["accepted"].as_u64().unwrap(), 1, "two racing writers store it once");
    assert_eq!(a["duplicates"].as_u64().unwrap() + b["duplicates"].as_u64().unwrap(), 1);

    let mut other_org = event.clone();
    other_org["organization"] = json!({"id": "org_2"});
    let mut other_env = event.clone();
    other_env["environment"] = json!("staging");
    let (_, reply) = app.ingest(&json!([other_org, other_env])).await;
    assert_eq!((reply["accepted"].as_u64(), reply["duplicates"].as_u64()), (Some(2), Some(0)), "{reply}");
    let (_, retried) = app.ingest(&json!([other_org, other_env])).await;
    assert_eq!((retried["accepted"].as_u64(), retried["duplicates"].as_u64()), (Some(0), Some(2)), "a retry is duplicates");
    assert_eq!(app.count("select count(*) from events where id = 'same'").await, 3);

    let admin = app.console("admin").await;
    let secret = admin
        .call_ok("create_api_key", &[("name", "dev"), ("kind", "ingest"), ("environments", "dev"), ("organizations", "")])
        .await;
    let dev_key = secret["value"].as_str().unwrap().to_string();
    let mut probe = event.clone();
    probe.as_object_mut().unwrap().remove("environment");
    let (status, reply) = app.ingest_raw(json!([probe]).to_string(), "application/json", Some(&dev_key)).await;
    assert_eq!(status, 200);
    assert_eq!(reply["duplicates"], 0, "a key of dev learns nothing of production's ids: {reply}");
    let (_, reply) = app.ingest_raw(json!([probe]).to_string(), "application/json", Some(&dev_key)).await;
    assert_eq!(reply["duplicates"], 1, "its own ids are its own");
}

/// Rows of a derived table that a recount from the events does not give, and
/// the other way round: (rollup, recount) queries that must agree exactly.
const RECOUNTS: [(&str, &str, &str); 12] = [
    ("event_counts_quarter",
     "select quarter, environment, organization_id, app_id, type, category, outcome, events from event_counts_quarter",
     "select date_bin('15 minutes', occurred_at, timestamptz '1970-01-01 00:00:00+00'), environment, organization_id, coalesce(app_id, ''), type, category, outcome, count(*) from events group by 1, 2, 3, 4, 5, 6, 7"),
    ("event_counts_quarter_coarse",
     "select quarter, environment, organization_id, category, events from event_counts_quarter_coarse",
     "select date_bin('15 minutes', occurred_at, timestamptz '1970-01-01 00:00:00+00'), environment, organization_id, category, count(*) from events group by 1, 2, 3, 4"),
    ("event_counts",
     "select hour, environment, organization_id, app_id, type, category, outcome, events from event_counts",
     "select date_trunc('hour', occurred_at, 'UTC'), environment, organization_id, coalesce(app_id, ''), type, category, outcome, count(*) from events group by 1, 2, 3, 4, 5, 6, 7"),
    ("event_counts_coarse",
     "select hour, environment, organization_id, category, events from event_counts_coarse",
     "select date_trunc('hour', occurred_at, 'UTC'), environment, organization_id, category, count(*) from events group by 1, 2, 3, 4"),
    ("event_counts_daily",
     "select day, environment, organization_id, app_id, type, category, outcome, events from event_counts_daily",
     "select (occurred_at at time zone 'UTC')::date, environment, organization_id, coalesce(app_id, ''), type, category, outcome, count(*) from events group by 1, 2, 3, 4, 5, 6, 7"),
    ("event_counts_daily_coarse",
     "select day, environment, organization_id, category, events from event_counts_daily_coarse",
     "select (occurred_at at time zone 'UTC')::date, environment, organization_id, category, count(*) from events group by 1, 2, 3, 4"),
    ("actor_counts_daily",
     "select actor_key, day, environment, organization_id, app_id, type, category, outcome, events from actor_counts_daily",
     "select actor_key, (occurred_at at time zone 'UTC')::date, environment, organization_id, coalesce(app_id, ''), type, category, outcome, count(*) from events where actor_key is not null group by 1, 2, 3, 4, 5, 6, 7, 8"),
    ("event_values",
     "select day, environment, organization_id, dimension, value, events from event_values",
     "select day, environment, organization_id, dimension, value, count(*) from (
          select (occurred_at at time zone 'UTC')::date as day, environment, organization_id,
                 unnest(array['organization', 'app', 'type', 'category', 'outcome']) as dimension,
                 unnest(array[organization_id, coalesce(app_id, ''), type, category, outcome]) as value
          from events) v
      where value <> '' group by 1, 2, 3, 4, 5"),
    ("term_counts_daily",
     "select term, day, environment, organization_id, category, events from term_counts_daily",
     "select term, (occurred_at at time zone 'UTC')::date, environment, organization_id, category, count(*)
      from events, lateral (select distinct term from unnest(vigil_words(search_text)) as term) t
      where term !~ '[^[:alnum:]]' group by 1, 2, 3, 4, 5"),
    // Kept for recent days only (retention::TERM_HOURS_DAYS): those compared.
    ("term_counts_hourly",
     "select term, hour, environment, organization_id, category, events, quarters from term_counts_hourly
      where hour >= now() - interval '8 days'",
     "select term, hour, environment, organization_id, category, count(*),
             array[count(*) filter (where quarter = hour), count(*) filter (where quarter = hour + interval '15 minutes'),
                   count(*) filter (where quarter = hour + interval '30 minutes'),
                   count(*) filter (where quarter = hour + interval '45 minutes')]
      from (select *, date_trunc('hour', occurred_at, 'UTC') as hour,
                   date_bin('15 minutes', occurred_at, timestamptz '1970-01-01 00:00:00+00') as quarter from events) e,
           lateral (select distinct term from unnest(vigil_words(search_text)) as term) t
      where term !~ '[^[:alnum:]]' and hour >= now() - interval '8 days'
      group by 1, 2, 3, 4, 5"),
    ("names",
     "select environment, organization_id, kind, id, last_seen from names",
     "select environment, organization_id, 'organization', organization_id, max(occurred_at)
      from events where organization_id <> '' group by 1, 2
      union all select environment, organization_id, 'app', app_id, max(occurred_at)
      from events where app_id is not null group by 1, 2, 4
      union all select environment, organization_id, 'actor', actor_key, max(occurred_at)
      from events where actor_key is not null group by 1, 2, 4
      union all select environment, organization_id, 'target:' || target_type, target_id, max(occurred_at)
      from events where target_type is not null and target_id is not null group by 1, 2, 3, 4"),
    ("sessions",
     "select environment, organization_id, session_id, started_at, last_seen, events from sessions",
     "select environment, organization_id, actor_session_id, min(occurred_at), max(occurred_at), count(*)
      from events where actor_session_id is not null group by 1, 2, 3"),
];

/// Every derived table equals a recount from the events themselves.
pub async fn assert_derived_data_matches_a_recount(pool: &PgPool) {
    for (table, derived, recount) in RECOUNTS {
        let differing: i64 = sqlx::query_scalar(&format!(
            "with derived as ({derived}), recount as ({recount}) \
             select count(*) from ((table derived except all table recount) union all (table recount except all table derived)) d"
        ))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"));
        let rows: i64 = sqlx::query_scalar(&format!("select count(*) from ({derived}) r")).fetch_one(pool).await.unwrap();
        assert!(rows > 0, "{table} holds rows");
        assert_eq!(differing, 0, "{table} equals a recount from the events");
    }
    let ledger: i64 = sqlx::query_scalar("select coalesce(sum(events), 0)::int8 from ingest_batches").fetch_one(pool).await.unwrap();
    let events: i64 = sqlx::query_scalar("select count(*) from events").fetch_one(pool).await.unwrap();
    assert_eq!(ledger, events, "the ledger counts every stored event once");
}

#[sqlx::test(migrations = false)]
async fn derived_data_equals_a_recount_after_a_mixed_concurrent_load(pool: PgPool) {
    let app = spawn(pool).await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (client, base) = (app.client.clone(), app.base.clone());
            tokio::spawn(async move {
                for b in 0..10 {
                    // Writers 2 and 3 resend writers 0 and 1's batches: duplicates race too.
                    let batch = mixed_batch(w % 2 + usize::from(w == 3), b, 60);
                    assert_eq!(post(&client, &base, &batch).await.unwrap().status(), 200);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    app.derived().await;
    assert_derived_data_matches_a_recount(&app.pool).await;
}

/// One user's sign-ins from several places and devices, each its own session.
fn sign_in(environment: &str, n: usize) -> Value {
    let places = ["81.2.69.160", "8.8.8.8", "81.2.69.160", "1.1.1.1", "8.8.8.8", "81.2.69.160", "1.1.1.1", "8.8.8.8"];
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    ];
    let day = Utc::now() - chrono::Duration::days(2);
    json!({
        "id": format!("sign-in-{n}"),
        "occurred_at": (day + chrono::Duration::minutes(37 * n as i64)).to_rfc3339(),
        "environment": environment,
        "type": "session.sign_in",
        "actor": {"id": "u_ana", "session_id": format!("session-{n}")},
        "client": {"ip": places[n], "user_agent": agents[n % agents.len()]},
    })
}

#[sqlx::test(migrations = false)]
async fn session_flags_are_the_same_whether_events_arrive_in_order_or_shuffled(pool: PgPool) {
    let app = spawn(pool).await;
    for (environment, order) in [("in-order", [0, 1, 2, 3, 4, 5, 6, 7]), ("shuffled", [5, 2, 7, 0, 3, 6, 1, 4])] {
        for n in order {
            app.ingest(&json!([sign_in(environment, n)])).await;
        }
    }
    let flags = |environment: &'static str| {
        let pool = app.pool.clone();
        async move {
            let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
                "select session_id, coalesce(flags, '{}') from sessions where environment = $1 order by session_id",
            )
            .bind(environment)
            .fetch_all(&pool)
            .await
            .unwrap();
            rows
        }
    };
    let in_order = flags("in-order").await;
    assert_eq!(in_order.len(), 8);
    assert!(in_order.iter().any(|(_, f)| f.contains(&"new_device".to_string())), "{in_order:?}");
    assert_eq!(flags("shuffled").await, in_order);
}

/// `vigil serve` as a real process on `port`.
fn start_server(pool: &PgPool, port: u16) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("serve")
        .env("DATABASE_URL", database_url(pool))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("VIGIL_INGEST_KEY", KEY)
        .env("VIGIL_EXPORT_KEY", EXPORT_KEY)
        .env("VIGIL_SECRET", "a test secret of at least thirty-two bytes")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("vigil starts")
}

async fn wait_until_serving(client: &reqwest::Client, base: &str) {
    for _ in 0..300 {
        if client.get(format!("{base}/api/openapi.json")).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("vigil did not start serving at {base}");
}

#[sqlx::test(migrations = false)]
async fn a_server_killed_mid_ingest_keeps_every_acknowledged_event_and_counts_it_once(pool: PgPool) {
    vigil::store::migrate(&pool).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().unwrap();
    let mut server = start_server(&pool, port);
    wait_until_serving(&client, &base).await;

    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for b in 0.. {
                    let batch = mixed_batch(w, b, 100);
                    match post(&client, &base, &batch).await {
                        Ok(response) if response.status() == 200 => acknowledged.extend(ids(&batch)),
                        _ => return acknowledged,
                    }
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    let mut acknowledged = BTreeSet::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    assert!(acknowledged.len() >= 400, "ingest ran before the kill ({} events)", acknowledged.len());

    let mut server = start_server(&pool, port);
    wait_until_serving(&client, &base).await;
    let (_, reply) = {
        let response = post(&client, &base, &mixed_batch(50, 0, 10)).await.unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(reply["accepted"], 10, "the restarted server takes events");
    vigil::store::derive::catch_up(&pool, REQUEST_TIMEOUT).await.unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let stored: BTreeSet<String> = sqlx::query_scalar("select id from events").fetch_all(&pool).await.unwrap().into_iter().collect();
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert_derived_data_matches_a_recount(&pool).await;
}

impl TestApp {
    /// The health endpoint's JSON.
    pub async fn health(&self) -> Value {
        let response = self.client.get(format!("{}/api/v1/health", self.base)).bearer_auth(EXPORT_KEY).send().await.unwrap();
        response.json().await.unwrap()
    }
}

#[sqlx::test(migrations = false)]
async fn the_health_endpoint_reports_the_worker_and_the_watermark(pool: PgPool) {
    let app = spawn(pool).await;
    app.ingest(&json!(mixed_batch(0, 0, 5))).await;
    let health = app.health().await;
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["ledger"]["underived_events"], 0, "{health}");
    assert!(health["ledger"]["export_lag_seconds"].is_number(), "{health}");
    let anonymous = app.client.get(format!("{}/api/v1/health", app.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[sqlx::test(migrations = false)]
async fn the_metrics_endpoint_counts_this_instances_work_for_keys_that_read_everything(pool: PgPool) {
    let app = spawn(pool).await;
    let now = Utc::now().to_rfc3339();
    let batch = json!([
        crate::helpers::event("m-1", &now),
        crate::helpers::event("m-2", &now),
        {"id": "m-bad", "type": "x"},
    ]);
    app.ingest(&batch).await;
    app.ingest(&batch).await;
    let service = vigil::model::ServiceDefinition::new("Billing", "production", vigil::model::CheckKind::Tcp, "127.0.0.1:9");
    vigil::store::monitor::insert(&app.pool, &service, None, Utc::now(), "test").await.unwrap();

    let response = app.client.get(format!("{}/api/v1/metrics", app.base)).bearer_auth(EXPORT_KEY).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    let value = |series: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with(series) && l[series.len()..].starts_with(' ')).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value(r#"vigil_ingest_events_total{result="accepted"}"#), 2.0);
    assert_eq!(value(r#"vigil_ingest_events_total{result="duplicate"}"#), 2.0);
    assert_eq!(value(r#"vigil_ingest_events_total{result="rejected"}"#), 2.0);
    assert_eq!(value(r#"vigil_http_requests_total{route="/api/v1/events",status="2xx"}"#), 2.0);
    assert_eq!(value(r#"vigil_http_request_duration_seconds_count{route="/api/v1/events"}"#), 2.0);
    assert_eq!(value("vigil_database_up"), 1.0);
    assert_eq!(value("vigil_underived_events"), 0.0);
    assert_eq!(value("vigil_derive_lag_seconds"), 0.0);
    assert_eq!(value(r#"vigil_services{state="unknown"}"#), 1.0);
    assert_eq!(value("vigil_alert_rules_firing"), 0.0);
    assert!(text.ends_with("# EOF\n"), "{text}");

    // Without a key, 401; a key restricted to some environments, 403; both counted.
    let anonymous = app.client.get(format!("{}/api/v1/metrics", app.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let admin = app.console("admin").await;
    let secret = admin
        .call_ok("create_api_key", &[("name", "siem"), ("kind", "export"), ("environments", "production"), ("organizations", "*")])
        .await;
    let restricted = app.client.get(format!("{}/api/v1/metrics", app.base)).bearer_auth(secret["value"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(restricted.status(), 403);
    assert_eq!(restricted.json::<Value>().await.unwrap()["error"]["code"], "forbidden");
    let text = app.client.get(format!("{}/api/v1/metrics", app.base)).bearer_auth(EXPORT_KEY).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"vigil_http_requests_total{route="/api/v1/metrics",status="4xx"} 2"#), "{text}");
    assert!(text.contains(r#"vigil_http_requests_total{route="/api/v1/metrics",status="2xx"} 1"#), "{text}");
}

#[sqlx::test(migrations = false)]
async fn the_write_path_page_says_what_ingest_received_and_why_events_were_rejected(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let quiet = admin.call_ok("write_path_status", &[]).await;
    assert_eq!(quiet["ingest"]["rejected_since_start"], 0);
    assert_eq!(quiet["ingest"]["rejections"], json!([]));

    let now = Utc::now();
    let mut staging = crate::helpers::event("w-2", &now.to_rfc3339());
    staging["environment"] = json!("staging");
    app.ingest(&json!([crate::helpers::event("w-1", &(now - chrono::Duration::minutes(5)).to_rfc3339())])).await;
    app.ingest(&json!([staging, {"id": "w-bad", "type": "x", "occurred_at": "not a time"}, {"id": "w-worse"}])).await;
    let status = admin.call_ok("write_path_status", &[]).await;
    let ingest = &status["ingest"];
    assert_eq!((ingest["last_hour"].as_i64(), ingest["last_day"].as_i64(), ingest["batches_last_day"].as_i64()), (Some(2), Some(2), Some(2)));
    let environments: Vec<&str> = ingest["environments"].as_array().unwrap().iter().map(|e| e[0].as_str().unwrap()).collect();
    assert_eq!(environments, ["production", "staging"], "the longest quiet first");
    assert_eq!(ingest["rejected_since_start"], 2);
    let rejections = ingest["rejections"].as_array().unwrap();
    let items: Vec<(i64, &str, &str)> =
        rejections.iter().map(|r| (r["index"].as_i64().unwrap(), r["key"].as_str().unwrap(), r["address"].as_str().unwrap())).collect();
    assert_eq!(items, [(1, "operator ingest key", "127.0.0.1"), (2, "operator ingest key", "127.0.0.1")], "a batch's items in their order");
    assert!(rejections.iter().all(|r| !r["error"].as_str().unwrap().is_empty()), "{rejections:?}");

    // The newest 20 are listed, newest first; a batch keeps its first 100.
    let bad: Vec<Value> = (0..125).map(|n| json!({"id": format!("b-{n}")})).collect();
    app.ingest(&json!(bad)).await;
    let ingest = admin.call_ok("write_path_status", &[]).await["ingest"].clone();
    assert_eq!(ingest["rejected_since_start"], 127);
    let indexes: Vec<i64> = ingest["rejections"].as_array().unwrap().iter().map(|r| r["index"].as_i64().unwrap()).collect();
    assert_eq!(indexes, (0..20).collect::<Vec<i64>>());
    assert_eq!(app.count("select count(*) from ingest_rejections").await, 102);

    // Another instance's rejections show on every instance's page, with its name;
    // they outlive the instance that counted them since it started.
    let second = crate::helpers::spawn_instance(&app.pool, "second").await;
    let (status, _) = second.ingest_raw(json!([{"id": "s-bad"}]).to_string(), "application/json", Some(crate::helpers::KEY)).await;
    assert_eq!(status, 422);
    let ingest = admin.call_ok("write_path_status", &[]).await["ingest"].clone();
    assert_eq!(ingest["rejected_since_start"], 127, "this instance's own count");
    assert_eq!((ingest["rejections"][0]["instance"].as_str(), ingest["rejections"][1]["instance"].as_str()), (Some("second"), Some(app.state.instance.as_ref())));

    // The newest 1 000 are kept, of every instance together.
    for n in 0..10 {
        let bad: Vec<Value> = (0..100).map(|i| json!({"id": format!("m-{n}-{i}")})).collect();
        app.ingest(&json!(bad)).await;
    }
    assert_eq!(app.count("select count(*) from ingest_rejections").await, 1_000);
    assert_eq!(app.count("select count(*) from ingest_rejections where instance = 'second'").await, 0, "the oldest went first");

    // A key of Settings → API keys is named as the console names it.
    let secret = admin.call_ok("create_api_key", &[("name", "billing"), ("kind", "ingest"), ("environments", "staging"), ("organizations", "")]).await;
    let key = secret["value"].as_str().unwrap();
    let (status, _) = app.ingest_raw(json!([{"id": "k-bad"}]).to_string(), "application/json", Some(key)).await;
    assert_eq!(status, 422);
    let id: i64 = sqlx::query_scalar("select id from api_keys where name = 'billing'").fetch_one(&app.pool).await.unwrap();
    let newest = admin.call_ok("write_path_status", &[]).await["ingest"]["rejections"][0].clone();
    assert_eq!(newest["key"], format!("billing (key #{id})"));
}

/// A PostgreSQL cluster of the test's own (`.ci/postgres` with its own folder
/// and port), so that stopping it leaves the other tests' databases alone.
struct OwnCluster {
    data: String,
    port: u16,
}

impl OwnCluster {
    fn start() -> OwnCluster {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let folder = format!("/tmp/vigil-test-cluster-{}-{port}", std::process::id());
        std::fs::create_dir_all(&folder).unwrap();
        let cluster = OwnCluster { data: format!("{folder}/pg"), port };
        cluster.run("start");
        cluster.run("createdb");
        cluster
    }

    fn run(&self, command: &str) {
        let mut script = std::process::Command::new(".ci/postgres");
        script.arg(command).env("VIGIL_PG_DATA", &self.data).env("VIGIL_PG_PORT", self.port.to_string());
        if command == "createdb" {
            script.arg("vigil");
        }
        assert!(script.stdout(std::process::Stdio::null()).status().unwrap().success(), ".ci/postgres {command}");
    }

    fn url(&self) -> String {
        let password = std::fs::read_to_string(format!("{}.password", self.data)).unwrap();
        format!("postgres://postgres:{}@127.0.0.1:{}/vigil", password.trim(), self.port)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.run("stop");
        let _ = std::fs::remove_dir_all(std::path::Path::new(&self.data).parent().unwrap());
    }
}

#[tokio::test]
async fn while_the_database_is_away_ingest_answers_503_with_retry_after_and_recovers_by_itself() {
    let cluster = OwnCluster::start();
    let database = vigil::config::DatabaseConfig { database_url: cluster.url(), db_max_connections: 8 };
    let app = spawn(vigil::store::connect(&database).await.unwrap()).await;
    let send = |n: usize| {
        let (client, base) = (app.client.clone(), app.base.clone());
        async move { post(&client, &base, &mixed_batch(70, n, 20)).await.unwrap() }
    };
    assert_eq!(send(0).await.status(), 200);
    let auditor = app.console("auditor").await;

    cluster.run("stop");
    let asked = std::time::Instant::now();
    let away = send(1).await;
    assert_eq!(away.status(), 503, "the database is away");
    assert_eq!(away.headers()["retry-after"], "5");
    let body: Value = away.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(asked.elapsed() < Duration::from_secs(15), "answered without hanging ({:?})", asked.elapsed());

    // The console says so too: a page that tries again, and a message for the page's calls.
    let page = auditor.get("/events").await;
    assert_eq!(page.status(), 503);
    assert_eq!(page.headers()["retry-after"], "5");
    let page = page.text().await.unwrap();
    assert!(page.contains("cannot reach its database") && page.contains("http-equiv=\"refresh\""), "{page}");
    let call = auditor.call("explore_events", &[("query", "")]).await;
    assert_eq!(call.status(), 503);
    assert!(call.text().await.unwrap().contains("cannot reach its database"));
    // Prometheus still gets this instance's counters, and learns the database is away.
    let scraped = app.client.get(format!("{}/api/v1/metrics", app.base)).bearer_auth(EXPORT_KEY).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    let scraped = scraped.text().await.unwrap();
    assert!(scraped.contains("\nvigil_database_up 0\n"), "{scraped}");
    assert!(scraped.contains(r#"vigil_http_requests_total{route="/api/v1/events",status="5xx"} 1"#), "{scraped}");

    cluster.run("start");
    let mut recovered = false;
    for n in 2..60 {
        if send(n).await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(recovered, "ingest works again without a restart of Vigil");
    assert_eq!(auditor.get("/events").await.status(), 200, "and the console, still signed in");
    let batch_1: i64 = sqlx::query_scalar("select count(*) from events where id like 'w70-b1-%'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(batch_1, 0, "the refused batch was not stored");
}
