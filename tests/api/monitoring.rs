//! Availability checks and alerts against real local servers started here: an
//! HTTP service whose answer the test switches, a TCP listener, a webhook
//! receiver that checks the signature, and an SMTP sink. Checks, evaluation
//! and delivery are driven with a clock the test sets.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use hmac::Mac;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use vigil::model::{AlertKind, AlertRuleDefinition, ChannelKind, CheckKind, GroupBy, ServiceDefinition, SmtpSettings, TlsMode};
use vigil::monitor::Prober;
use vigil::store;

use crate::helpers::{self, event, spawn, TestApp};

const SECRET: &str = "webhook secret";

/// An HTTP service answering with the status the test sets.
async fn switchable_service() -> (String, Arc<AtomicU16>) {
    let status = Arc::new(AtomicU16::new(200));
    let app = axum::Router::new()
        .route("/health", get(|State(s): State<Arc<AtomicU16>>| async move { (StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap(), "all good") }))
        .with_state(status.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/health", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, status)
}

/// Requests a webhook receiver took: (verified signature, body). It answers
/// 500 to the first `failures` requests.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(bool, Value)>>>,
    failures: Arc<AtomicU16>,
}

async fn webhook_receiver(failures: u16) -> (String, Receiver) {
    let receiver = Receiver { failures: Arc::new(AtomicU16::new(failures)), ..Default::default() };
    let app = axum::Router::new()
        .route(
            "/hook",
            post(|State(r): State<Receiver>, headers: HeaderMap, body: String| async move {
                let verified = headers.get("vigil-signature").and_then(|v| v.to_str().ok()).is_some_and(|v| signature_holds(v, &body));
                r.received.lock().unwrap().push((verified, serde_json::from_str(&body).unwrap()));
                if r.failures.load(Ordering::SeqCst) > 0 {
                    r.failures.fetch_sub(1, Ordering::SeqCst);
                    return (StatusCode::INTERNAL_SERVER_ERROR, "receiver broken");
                }
                (StatusCode::OK, "thanks")
            }),
        )
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, receiver)
}

/// `t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>`, checked as a receiver would.
fn signature_holds(header: &str, body: &str) -> bool {
    let Some((t, v1)) = header.split_once(",v1=") else { return false };
    let t = t.trim_start_matches("t=");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap_or_default()).is_ok()
}

impl Receiver {
    fn states(&self) -> Vec<String> {
        self.received.lock().unwrap().iter().map(|(_, body)| body["state"].as_str().unwrap().to_string()).collect()
    }
}

fn service(name: &str, kind: CheckKind, target: &str) -> ServiceDefinition {
    ServiceDefinition { timeout_ms: 2_000, interval_seconds: 15, ..ServiceDefinition::new(name, "production", kind, target) }
}

async fn add_service(app: &TestApp, s: &ServiceDefinition, now: DateTime<Utc>) -> i64 {
    store::monitor::insert(&app.pool, s, None, now, "test").await.unwrap()
}

fn rule(name: &str, kind: AlertKind, query: &str, channels: Vec<i64>) -> AlertRuleDefinition {
    AlertRuleDefinition { channel_ids: channels, renotify_seconds: 600, ..AlertRuleDefinition::new(name, kind, query) }
}

async fn webhook_channel(app: &TestApp, url: &str) -> i64 {
    store::alerts::insert_channel(&app.pool, "hook", ChannelKind::Webhook, url, Some(SECRET), "test").await.unwrap()
}

/// Run the checks due at `at` (every service is due once per 15 s slot).
async fn check_at(app: &TestApp, at: DateTime<Utc>) -> usize {
    vigil::monitor::check_now(&app.state, &Prober::default(), at).await.unwrap()
}

async fn state_of(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("select state from services where id = $1").bind(id).fetch_one(&app.pool).await.unwrap()
}

async fn deliver(app: &TestApp, at: DateTime<Utc>) -> usize {
    vigil::alerts::deliver::Deliverer::new(&app.state).deliver_due(&app.state, at).await.unwrap()
}

#[sqlx::test]
async fn a_failing_service_goes_down_alerts_once_renotifies_and_resolves(pool: PgPool) {
    let app = spawn(pool).await;
    let (url, status) = switchable_service().await;
    let (hook, receiver) = webhook_receiver(0).await;
    let t0 = Utc::now();
    let id = add_service(&app, &service("billing", CheckKind::Http, &url), t0).await;
    let channel = webhook_channel(&app, &hook).await;
    store::alerts::insert_rule(&app.pool, &rule("billing down", AlertKind::ServiceDown, "", vec![channel]), "test").await.unwrap();

    assert_eq!(check_at(&app, t0).await, 1);
    assert_eq!(check_at(&app, t0).await, 0, "a check runs once per slot");
    assert_eq!(state_of(&app, id).await, "up");
    status.store(503, Ordering::SeqCst);
    let mut at = t0;
    for n in 1..=3 {
        at = t0 + Duration::seconds(15 * n);
        assert_eq!(check_at(&app, at).await, 1);
        let expected = if n < 3 { "up" } else { "down" };
        assert_eq!(state_of(&app, id).await, expected, "after {n} failures");
    }
    let reason: String = sqlx::query_scalar("select reason from service_incidents where service_id = $1 and ended_at is null")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(reason.contains("503"), "{reason}");
    app.derived().await;
    assert_eq!(app.count("select count(*) from events where type = 'service.down' and environment = 'production'").await, 1);

    vigil::alerts::evaluate_windows(&app.state, at).await.unwrap();
    vigil::alerts::evaluate_windows(&app.state, at + Duration::seconds(5)).await.unwrap();
    assert_eq!(deliver(&app, at + Duration::seconds(5)).await, 1, "fires once");
    vigil::alerts::evaluate_windows(&app.state, at + Duration::seconds(601)).await.unwrap();
    assert_eq!(deliver(&app, at + Duration::seconds(601)).await, 1, "re-notifies after the interval");

    status.store(200, Ordering::SeqCst);
    for n in 4..=5 {
        at = t0 + Duration::seconds(15 * n + 600);
        check_at(&app, at).await;
    }
    assert_eq!(state_of(&app, id).await, "up");
    vigil::alerts::evaluate_windows(&app.state, at).await.unwrap();
    deliver(&app, at).await;
    assert_eq!(receiver.states(), ["firing", "renotify", "resolved"]);
    let received = receiver.received.lock().unwrap().clone();
    assert!(received.iter().all(|(verified, _)| *verified), "every request carries a valid signature");
    assert_eq!(received[0].1["group"], "billing");
    assert!(received[0].1["link"].as_str().unwrap().ends_with("/services"));
    app.derived().await;
    assert_eq!(app.count("select count(*) from events where type = 'service.up'").await, 1);
    assert_eq!(app.count("select count(*) from service_incidents where ended_at is not null").await, 1);
}

#[sqlx::test]
async fn maintenance_windows_keep_a_failing_service_up_and_quiet(pool: PgPool) {
    let app = spawn(pool).await;
    let (url, status) = switchable_service().await;
    let t0 = Utc::now();
    let id = add_service(&app, &service("search", CheckKind::Http, &url), t0).await;
    check_at(&app, t0).await;
    store::monitor::add_maintenance(&app.pool, id, t0, t0 + Duration::hours(1), Some("upgrade"), "test").await.unwrap();
    status.store(500, Ordering::SeqCst);
    for n in 1..=5 {
        check_at(&app, t0 + Duration::seconds(15 * n)).await;
    }
    assert_eq!(state_of(&app, id).await, "up");
    assert_eq!(app.count("select count(*) from service_results where in_maintenance and not ok").await, 5);
    app.derived().await;
    assert_eq!(app.count("select count(*) from events where type = 'service.down'").await, 0);
    // After the window, failures count again.
    for n in 0..3 {
        check_at(&app, t0 + Duration::hours(1) + Duration::seconds(15 * n)).await;
    }
    assert_eq!(state_of(&app, id).await, "down");
}

#[sqlx::test]
async fn a_maintenance_window_ended_early_lets_failures_count_again(pool: PgPool) {
    let app = spawn(pool).await;
    let (url, status) = switchable_service().await;
    let t0 = Utc::now();
    let id = add_service(&app, &service("search", CheckKind::Http, &url), t0).await;
    check_at(&app, t0).await;
    let admin = app.console("admin").await;
    let plan = |starts: &str| [("service_id", id.to_string()), ("starts", starts.to_string()), ("minutes", "60".to_string()), ("note", "upgrade".to_string())];
    admin.call_ok("add_maintenance", &as_pairs(&plan(""))).await;
    let tomorrow = (Utc::now() + Duration::days(1)).format("%Y-%m-%dT%H:%M").to_string();
    admin.call_ok("add_maintenance", &as_pairs(&plan(&tomorrow))).await;
    let windows: Vec<i64> = sqlx::query_scalar("select id from maintenance_windows order by starts_at").fetch_all(&app.pool).await.unwrap();

    app.add_user("viewer@example.com", "viewer", &["*"], &["*"]).await;
    let viewer = app.sign_in("viewer@example.com").await;
    assert_eq!(viewer.call("end_maintenance", &[("id", &windows[0].to_string())]).await.status(), 403);
    for window in &windows {
        admin.call_ok("end_maintenance", &[("id", &window.to_string())]).await;
    }
    let again = admin.call("end_maintenance", &[("id", &windows[0].to_string())]).await;
    assert_eq!(again.status(), 404, "an ended window cannot end again");
    assert!(store::monitor::maintenance(&app.pool, id, Utc::now()).await.unwrap().is_empty(), "none left, the planned one called off");

    status.store(500, Ordering::SeqCst);
    for n in 1..=3 {
        check_at(&app, Utc::now() + Duration::seconds(15 * n)).await;
    }
    assert_eq!(state_of(&app, id).await, "down", "failures after the window ended count");
    app.derived().await;
    assert_eq!(app.count("select count(*) from events where environment = 'vigil' and type = 'service.maintenance_ended'").await, 2);
}

#[sqlx::test]
async fn a_heartbeat_that_stops_arriving_takes_the_service_down(pool: PgPool) {
    let app = spawn(pool).await;
    let t0 = Utc::now();
    let token = "heartbeat-token-of-the-test";
    let hash = vigil::monitor::token_hash(token);
    let id = store::monitor::insert(&app.pool, &service("nightly job", CheckKind::Heartbeat, ""), Some(&hash), t0, "test").await.unwrap();
    let beat = |token: &str| app.client.post(format!("{}/api/v1/heartbeats/{token}", app.base)).send();
    let response = beat(token).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["service"]["name"], "nightly job");
    let wrong = beat("not-the-token").await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"]["code"], "unauthorized");

    check_at(&app, Utc::now()).await;
    assert_eq!(state_of(&app, id).await, "up");
    for n in 1..=3 {
        check_at(&app, Utc::now() + Duration::seconds(15 * n + 1)).await;
    }
    assert_eq!(state_of(&app, id).await, "down");
    let error: String = sqlx::query_scalar("select error from service_results where not ok order by checked_at desc limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(error.contains("no heartbeat for"), "{error}");
}

#[sqlx::test]
async fn tcp_dns_and_keyword_checks(_pool: PgPool) {
    let (url, _) = switchable_service().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let closed = {
        let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        gone.local_addr().unwrap().to_string()
    };
    let prober = Prober::default();
    let now = Utc::now();
    let probe = |s: ServiceDefinition| {
        let prober = prober.clone();
        async move { prober.check(&s, None, now).await.result }
    };
    assert!(probe(service("tcp", CheckKind::Tcp, &open)).await.ok);
    let refused = probe(service("tcp", CheckKind::Tcp, &closed)).await;
    assert!(!refused.ok && refused.error.is_some());
    assert!(probe(service("dns", CheckKind::Dns, "localhost")).await.ok);
    let pinned = ServiceDefinition { expected_address: Some("127.0.0.1".into()), ..service("dns", CheckKind::Dns, "localhost") };
    assert!(probe(pinned).await.ok);
    let elsewhere = ServiceDefinition { expected_address: Some("10.9.9.9".into()), ..service("dns", CheckKind::Dns, "localhost") };
    assert!(probe(elsewhere).await.error.unwrap().contains("not 10.9.9.9"));
    assert!(!probe(service("dns", CheckKind::Dns, "no-such-host.invalid")).await.ok);
    let keyword = |k: &str| ServiceDefinition { keyword: Some(k.into()), ..service("http", CheckKind::Http, &url) };
    let found = probe(keyword("good")).await;
    assert!(found.ok && found.status == Some(200) && found.latency_ms.is_some());
    assert!(probe(keyword("missing")).await.error.unwrap().contains("does not contain"));
    drop(listener);
}

#[sqlx::test]
async fn with_two_instances_each_check_runs_once(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let second = vigil::state::AppState::new(
        app.state.leptos_options.clone(),
        pool,
        vigil::config::ServerConfig::with_keys(helpers::KEY, helpers::EXPORT_KEY),
        &helpers::ingest_config(),
    )
    .unwrap();
    let (url, _) = switchable_service().await;
    let t0 = Utc::now();
    for n in 0..20 {
        add_service(&app, &service(&format!("service {n}"), CheckKind::Http, &url), t0).await;
    }
    for slot in 0..3 {
        let at = t0 + Duration::seconds(15 * slot);
        let prober = Prober::default();
        let (a, b) = tokio::join!(
            vigil::monitor::check_now(&app.state, &prober, at),
            vigil::monitor::check_now(&second, &prober, at)
        );
        assert_eq!(a.unwrap() + b.unwrap(), 20, "slot {slot}: every service checked by one instance");
    }
    assert_eq!(app.count("select count(*) from service_results").await, 60);
    assert_eq!(app.count("select count(distinct (service_id, checked_at)) from service_results").await, 60);
}

/// Events of the test, `matching` of them failed sign-ins of user `ana`.
fn sign_ins(prefix: &str, total: usize, matching: usize) -> Value {
    let events: Vec<Value> = (0..total)
        .map(|i| {
            let mut e = event(&format!("{prefix}-{i}"), &Utc::now().to_rfc3339());
            e["type"] = json!("session.sign_in");
            e["outcome"] = json!(if i < matching { "failure" } else { "success" });
            e
        })
        .collect();
    Value::Array(events)
}

#[sqlx::test]
async fn any_match_rules_fire_exactly_once_per_event_under_concurrent_ingest_and_a_restart(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let (hook, receiver) = webhook_receiver(0).await;
    let channel = webhook_channel(&app, &hook).await;
    let query = "type=session.sign_in&outcome=failure";
    store::alerts::insert_rule(&app.pool, &rule("failed sign-ins", AlertKind::Match, query, vec![channel]), "test").await.unwrap();
    let now = Utc::now();
    // Eight writers, and the evaluator following them as they write.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let app_base = app.base.clone();
            let client = app.client.clone();
            tokio::spawn(async move {
                for b in 0..5 {
                    let body = sign_ins(&format!("w{w}b{b}"), 20, 3);
                    let response = client.post(format!("{app_base}/api/v1/events")).bearer_auth(helpers::KEY).json(&body).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                }
            })
        })
        .collect();
    let mut evaluations = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        app.derived().await;
        evaluations += vigil::alerts::follow_ledger(&app.state, now).await.unwrap();
    }
    for w in writers {
        w.await.unwrap();
    }
    // A restarted server (a new state on the same database) takes up where the first stopped.
    let restarted = vigil::state::AppState::new(
        app.state.leptos_options.clone(),
        pool,
        vigil::config::ServerConfig::with_keys(helpers::KEY, helpers::EXPORT_KEY),
        &helpers::ingest_config(),
    )
    .unwrap();
    app.derived().await;
    while vigil::alerts::follow_ledger(&restarted, now).await.unwrap() > 0 {}
    // What was gathered after the first notification goes out once the interval has passed.
    vigil::alerts::evaluate_windows(&restarted, now + Duration::minutes(2)).await.unwrap();
    assert!(evaluations > 0, "the evaluator ran while writers wrote");
    let counted = app.count("select coalesce(sum(count), 0)::int8 from alert_history where kind = 'firing'").await;
    assert_eq!(counted, 8 * 5 * 3, "every matching event counted once");
    let ids: Vec<Vec<String>> = sqlx::query_scalar("select event_ids from alert_history").fetch_all(&app.pool).await.unwrap();
    let named: Vec<&String> = ids.iter().flatten().collect();
    let unique: std::collections::HashSet<_> = named.iter().collect();
    assert_eq!(named.len(), unique.len(), "no event named twice");
    while deliver(&app, now + Duration::minutes(3)).await > 0 {}
    let notified: i64 = receiver.received.lock().unwrap().iter().map(|(_, b)| b["count"].as_i64().unwrap()).sum();
    assert_eq!(notified, 120);
}

#[sqlx::test]
async fn an_any_match_rule_notifies_at_once_then_gathers_what_follows(pool: PgPool) {
    let app = spawn(pool).await;
    let (hook, receiver) = webhook_receiver(0).await;
    let channel = webhook_channel(&app, &hook).await;
    let id = store::alerts::insert_rule(&app.pool, &rule("failed sign-ins", AlertKind::Match, "outcome=failure", vec![channel]), "test").await.unwrap();
    let evaluate = |batch: &'static str, matching: usize, at: DateTime<Utc>| {
        let app = &app;
        async move {
            assert_eq!(app.ingest(&sign_ins(batch, 20, matching)).await.0, 200);
            app.derived().await;
            while vigil::alerts::follow_ledger(&app.state, at).await.unwrap() > 0 {}
        }
    };
    let history = || async {
        let rows: Vec<(String, i64, Vec<String>)> =
            sqlx::query_as("select kind, count, event_ids from alert_history order by id").fetch_all(&app.pool).await.unwrap();
        rows
    };
    let t0 = Utc::now();
    // The first match notifies at once.
    evaluate("a", 2, t0).await;
    assert_eq!(history().await, [("firing".to_string(), 2, vec!["a-0".to_string(), "a-1".to_string()])]);
    // Matches within the next minute are held, however many evaluations see them.
    evaluate("b", 8, t0 + Duration::seconds(10)).await;
    evaluate("c", 7, t0 + Duration::seconds(30)).await;
    vigil::alerts::evaluate_windows(&app.state, t0 + Duration::seconds(59)).await.unwrap();
    assert_eq!(history().await.len(), 1, "nothing more within the gathering interval");
    let (count, held): (i64, i64) = sqlx::query_as("select count, held from alert_states where rule_id = $1").bind(id).fetch_one(&app.pool).await.unwrap();
    assert_eq!((count, held), (17, 15), "the state counts every match, the held ones apart");
    // Then one notification with all of them and the first ten ids; quiet, it does not resolve while holding.
    vigil::alerts::evaluate_windows(&app.state, t0 + Duration::seconds(61)).await.unwrap();
    let lines = history().await;
    assert_eq!(lines.len(), 2);
    let expected: Vec<String> = (0..8).map(|i| format!("b-{i}")).chain((0..2).map(|i| format!("c-{i}"))).collect();
    assert_eq!(lines[1], ("firing".to_string(), 15, expected));
    // A match after the interval notifies at once again.
    evaluate("d", 1, t0 + Duration::seconds(125)).await;
    assert_eq!(history().await.len(), 3);
    // Quiet for the re-notify interval (600 s) after the last notification: resolved.
    vigil::alerts::evaluate_windows(&app.state, t0 + Duration::seconds(125 + 601)).await.unwrap();
    let kinds: Vec<String> = history().await.into_iter().map(|(kind, ..)| kind).collect();
    assert_eq!(kinds, ["firing", "firing", "firing", "resolved"]);
    while deliver(&app, t0 + Duration::hours(1)).await > 0 {}
    let firing: Vec<i64> = receiver.received.lock().unwrap().iter().filter(|(_, b)| b["state"] == "firing").map(|(_, b)| b["count"].as_i64().unwrap()).collect();
    assert_eq!(firing.iter().sum::<i64>(), 18, "every match notified once, in three notifications: {firing:?}");
    assert_eq!(firing.len(), 3);
}

#[sqlx::test]
async fn a_count_rule_fires_at_the_threshold_and_not_below(pool: PgPool) {
    let app = spawn(pool).await;
    let definition = AlertRuleDefinition {
        threshold: Some(5),
        window_seconds: Some(600),
        group_by: Some(GroupBy::User),
        ..rule("brute force", AlertKind::Count, "type=session.sign_in&outcome=failure", vec![])
    };
    let id = store::alerts::insert_rule(&app.pool, &definition, "test").await.unwrap();
    let (status, _) = app.ingest(&sign_ins("a", 6, 4)).await;
    assert_eq!(status, 200);
    vigil::alerts::evaluate_windows(&app.state, Utc::now()).await.unwrap();
    assert_eq!(app.count("select count(*) from alert_states where firing").await, 0, "4 of 5: not yet");
    app.ingest(&sign_ins("b", 1, 1)).await;
    let now = Utc::now();
    vigil::alerts::evaluate_windows(&app.state, now).await.unwrap();
    let (group, count): (String, i64) = sqlx::query_as("select group_key, count from alert_states where rule_id = $1 and firing")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((group.as_str(), count), ("ana@acme.example", 5));
    // Once the window has passed, it resolves.
    vigil::alerts::evaluate_windows(&app.state, now + Duration::minutes(11)).await.unwrap();
    assert_eq!(app.count("select count(*) from alert_states where firing").await, 0);
    let kinds: Vec<String> = sqlx::query_scalar("select kind from alert_history order by id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(kinds, ["firing", "resolved"]);
}

#[sqlx::test]
async fn a_silence_rule_fires_when_its_view_goes_quiet_and_resolves_with_the_next_event(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let form = |window: &str| -> Vec<(&'static str, String)> {
        vec![
            ("name", "Billing went quiet".to_string()),
            ("kind", "silence".to_string()),
            ("query", "env=billing".to_string()),
            ("threshold", "5".to_string()),
            ("window_minutes", window.to_string()),
            ("group_by", String::new()),
            ("service_id", String::new()),
            ("channels", String::new()),
            ("renotify_minutes", "60".to_string()),
            ("notify_resolved", "on".to_string()),
        ]
    };
    let refused = admin.call("save_alert_rule", &as_pairs(&form("0"))).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("window (minutes)"));
    let id = admin.call_ok("save_alert_rule", &as_pairs(&form("30"))).await["id"].as_i64().unwrap();
    let stored: (String, Option<i32>, Option<i32>, Option<String>) =
        sqlx::query_as("select kind, threshold, window_seconds, group_by from alert_rules where id = $1").bind(id).fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored, ("silence".into(), None, Some(1800), None), "a silence rule keeps a window only");

    let at = |t: DateTime<Utc>, id: &str, environment: &str| {
        let mut e = event(id, &t.to_rfc3339());
        e["environment"] = json!(environment);
        e
    };
    let t0 = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap() - Duration::hours(3);
    app.ingest(&json!([at(t0, "b-1", "billing")])).await;
    let minutes = |n| t0 + Duration::minutes(n);
    let firing_sql = format!("select count(*) from alert_states where rule_id = {id} and firing");
    let firing = || app.count(&firing_sql);
    vigil::alerts::evaluate_windows(&app.state, minutes(10)).await.unwrap();
    assert_eq!(firing().await, 0, "an event within the window");
    vigil::alerts::evaluate_windows(&app.state, minutes(31)).await.unwrap();
    assert_eq!(firing().await, 1, "30 minutes without one");
    // Another environment's events are not the view's.
    app.ingest(&json!([at(minutes(35), "o-1", "production")])).await;
    vigil::alerts::evaluate_windows(&app.state, minutes(36)).await.unwrap();
    assert_eq!(firing().await, 1);
    vigil::alerts::evaluate_windows(&app.state, minutes(92)).await.unwrap();
    // The next event of the view resolves it.
    app.ingest(&json!([at(minutes(100), "b-2", "billing")])).await;
    vigil::alerts::evaluate_windows(&app.state, minutes(101)).await.unwrap();
    assert_eq!(firing().await, 0);
    let history: Vec<(String, String)> =
        sqlx::query_as("select kind, summary from alert_history where rule_id = $1 order by id").bind(id).fetch_all(&app.pool).await.unwrap();
    assert_eq!(
        history,
        [
            ("firing".into(), "no event in 30 min: \"Billing went quiet\"".into()),
            ("renotify".into(), "no event in 30 min: \"Billing went quiet\"".into()),
            ("resolved".into(), "\"Billing went quiet\" resolved".into()),
        ]
    );
}

#[sqlx::test]
async fn a_silence_rule_per_app_or_environment_fires_for_each_that_went_quiet(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let form = |name: &str, query: &str, per: &str| -> Vec<(&'static str, String)> {
        vec![
            ("name", name.to_string()),
            ("kind", "silence".to_string()),
            ("query", query.to_string()),
            ("threshold", String::new()),
            ("window_minutes", "30".to_string()),
            ("group_by", per.to_string()),
            ("service_id", String::new()),
            ("channels", String::new()),
            ("renotify_minutes", "60".to_string()),
            ("notify_resolved", "on".to_string()),
        ]
    };
    let refused = admin.call("save_alert_rule", &as_pairs(&form("Users went quiet", "", "user"))).await;
    assert_eq!(refused.status(), 400, "a user is not where events come from");
    assert!(refused.text().await.unwrap().contains("each environment, organization or app"));
    let per_app = admin.call_ok("save_alert_rule", &as_pairs(&form("Billing apps went quiet", "env=billing", "app"))).await["id"].as_i64().unwrap();
    let per_environment = admin.call_ok("save_alert_rule", &as_pairs(&form("An environment went quiet", "", "environment"))).await["id"].as_i64().unwrap();
    let stored: Option<String> = sqlx::query_scalar("select group_by from alert_rules where id = $1").bind(per_app).fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored.as_deref(), Some("app"));

    let at = |t: DateTime<Utc>, id: &str, environment: &str, app_id: Option<&str>| {
        let mut e = event(id, &t.to_rfc3339());
        e["environment"] = json!(environment);
        if let Some(app_id) = app_id {
            e["app"] = json!({"id": app_id, "name": app_id.replace("app_", "App ").to_uppercase()});
        }
        e
    };
    // Nine days back, an app no longer watched: it sent nothing in the 7 days before any window here.
    let t0 = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap() - Duration::hours(3);
    let minutes = |n| t0 + Duration::minutes(n);
    app.ingest(&json!([
        at(t0 - Duration::days(9), "old-1", "billing", Some("app_retired")),
        at(t0, "a-1", "billing", Some("app_a")),
        at(t0, "b-1", "billing", Some("app_b")),
        at(t0, "n-1", "billing", None),
        at(t0, "c-1", "production", Some("app_c")),
    ]))
    .await;
    let firing = |rule: i64| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("select group_key from alert_states where rule_id = $1 and firing order by 1")
                .bind(rule)
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    vigil::alerts::evaluate_windows(&app.state, minutes(10)).await.unwrap();
    assert!(firing(per_app).await.is_empty() && firing(per_environment).await.is_empty(), "every source sent within the window");
    app.ingest(&json!([at(minutes(20), "a-2", "billing", Some("app_a"))])).await;
    vigil::alerts::evaluate_windows(&app.state, minutes(31)).await.unwrap();
    assert_eq!(firing(per_app).await, ["app_b"], "app_a sent at 20 min, the event without an app is no source, app_c is another view's");
    assert_eq!(firing(per_environment).await, ["production"], "billing sent at 20 min; Vigil's own trail is left out");
    vigil::alerts::evaluate_windows(&app.state, minutes(51)).await.unwrap();
    assert_eq!(firing(per_app).await, ["app_a", "app_b"]);
    app.ingest(&json!([at(minutes(60), "b-2", "billing", Some("app_b"))])).await;
    vigil::alerts::evaluate_windows(&app.state, minutes(61)).await.unwrap();
    assert_eq!(firing(per_app).await, ["app_a"], "app_b's next event resolves it alone");
    let history: Vec<(String, String, String)> = sqlx::query_as("select kind, group_key, summary from alert_history where rule_id = $1 order by id")
        .bind(per_app)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let line = |kind: &str, group: &str, summary: &str| (kind.to_string(), group.to_string(), summary.to_string());
    assert_eq!(
        history,
        [
            line("firing", "app_b", "no event in 30 min for app APP B (app_b): \"Billing apps went quiet\""),
            line("firing", "app_a", "no event in 30 min for app APP A (app_a): \"Billing apps went quiet\""),
            line("resolved", "app_b", "\"Billing apps went quiet\" resolved for app APP B (app_b)"),
        ]
    );

    // A count rule counts per app, organization or environment too.
    let mut per_org = rule("Busy organizations", AlertKind::Count, "env=billing", vec![]);
    (per_org.threshold, per_org.window_seconds, per_org.group_by) = (Some(2), Some(3600), Some(GroupBy::Organization));
    let counted = store::alerts::insert_rule(&app.pool, &per_org, "test").await.unwrap();
    vigil::alerts::evaluate_windows(&app.state, minutes(62)).await.unwrap();
    assert_eq!(firing(counted).await, ["org_1"], "a-2 and b-2 within the hour");
    let summary: String = sqlx::query_scalar("select summary from alert_history where rule_id = $1").bind(counted).fetch_one(&app.pool).await.unwrap();
    assert_eq!(summary, "2 events in 1 h (threshold 2) for organization Acme (org_1): \"Busy organizations\"");
}

#[sqlx::test]
async fn a_webhook_that_fails_is_retried_and_given_up_visibly(pool: PgPool) {
    let app = spawn(pool).await;
    let (hook, receiver) = webhook_receiver(2).await;
    let channel = webhook_channel(&app, &hook).await;
    store::alerts::insert_rule(&app.pool, &rule("all", AlertKind::Match, "type=session.sign_in", vec![channel]), "test").await.unwrap();
    app.ingest(&sign_ins("r", 1, 1)).await;
    let t0 = Utc::now();
    vigil::alerts::follow_ledger(&app.state, t0).await.unwrap();
    assert_eq!(deliver(&app, t0).await, 1);
    assert_eq!(deliver(&app, t0 + Duration::seconds(5)).await, 0, "waits for the retry");
    assert_eq!(deliver(&app, t0 + Duration::seconds(10)).await, 1);
    assert_eq!(deliver(&app, t0 + Duration::seconds(30)).await, 1);
    assert_eq!(receiver.received.lock().unwrap().len(), 3);
    let shown = store::alerts::deliveries(&app.pool, Some(channel), 10).await.unwrap();
    assert_eq!((shown[0].attempts, shown[0].delivered_at.is_some(), shown[0].last_status), (3, true, Some(200)));

    // A receiver that never recovers: given up after six attempts, as an event.
    receiver.failures.store(100, Ordering::SeqCst);
    app.ingest(&sign_ins("s", 1, 1)).await;
    // After the rule's gathering interval, so that this match notifies at once.
    let t1 = t0 + Duration::minutes(2);
    vigil::alerts::follow_ledger(&app.state, t1).await.unwrap();
    let mut at = t1;
    for _ in 0..6 {
        at += Duration::hours(1);
        deliver(&app, at).await;
    }
    let shown = store::alerts::deliveries(&app.pool, Some(channel), 10).await.unwrap();
    assert_eq!((shown[0].attempts, shown[0].failed_at.is_some(), shown[0].last_status), (6, true, Some(500)));
    assert!(shown[0].last_response.as_deref() == Some("receiver broken"));
    app.derived().await;
    assert_eq!(app.count("select count(*) from events where type = 'alert.delivery_failed' and environment = 'vigil'").await, 1);
}

/// A minimal SMTP server that keeps each message's text.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let kept = messages.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(text) = data.as_mut() {
                        if line == "." {
                            kept.lock().unwrap().push(data.take().unwrap());
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            text.push_str(&line);
                            text.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, messages)
}

#[sqlx::test]
async fn e_mail_arrives_with_the_subject_and_the_link(pool: PgPool) {
    let app = spawn(pool).await;
    let (port, messages) = smtp_sink().await;
    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port: i32::from(port),
        tls: TlsMode::None,
        username: None,
        has_password: false,
        sender: "Vigil <vigil@example.com>".into(),
    };
    store::alerts::set_smtp(&app.pool, &settings, None, "test").await.unwrap();
    let channel = store::alerts::insert_channel(&app.pool, "on call", ChannelKind::Email, "oncall@example.com", None, "test").await.unwrap();
    let query = "type=session.sign_in&outcome=failure";
    store::alerts::insert_rule(&app.pool, &rule("Failed sign-ins", AlertKind::Match, query, vec![channel]), "test").await.unwrap();
    app.ingest(&sign_ins("m", 2, 2)).await;
    vigil::alerts::follow_ledger(&app.state, Utc::now()).await.unwrap();
    assert_eq!(deliver(&app, Utc::now()).await, 1);
    let shown = store::alerts::deliveries(&app.pool, Some(channel), 10).await.unwrap();
    assert!(shown[0].delivered_at.is_some(), "{:?}", shown[0]);
    let messages = messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("Subject: [Vigil] FIRING: Failed sign-ins"), "{}", messages[0]);
    assert!(messages[0].contains(&format!("{}/events?{query}", app.base)), "{}", messages[0]);
    assert!(messages[0].contains("To: oncall@example.com"), "{}", messages[0]);
}

#[sqlx::test]
async fn console_changes_are_audited_and_viewers_see_only_their_environments(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let form = [
        ("name", "Status page"),
        ("environment", "staging"),
        ("kind", "tcp"),
        ("target", "127.0.0.1:9"),
        // Typed while another check was chosen: a tcp check keeps none of them.
        ("http_method", "PATCH"),
        ("expected_status", "999"),
        ("keyword", "ok"),
        ("expected_address", "10.0.0.1"),
        ("timeout_ms", ""),
        ("interval_seconds", "5"),
        ("down_after", ""),
        ("up_after", ""),
    ];
    let refused = admin.call("save_service", &form).await;
    assert!(refused.text().await.unwrap().contains("interval (s) must be from 15"));
    let mut form = form.to_vec();
    form[9] = ("interval_seconds", "30");
    admin.call_ok("save_service", &form).await;
    let stored: (String, i32, i32, Option<String>, Option<String>) =
        sqlx::query_as("select http_method, status_min, status_max, keyword, expected_address from services where name = 'Status page'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, ("GET".into(), 200, 399, None, None));
    admin.call_ok("save_channel", &[("name", "hook"), ("kind", "webhook"), ("destination", "http://127.0.0.1:9/x"), ("secret", "s")]).await;
    let bad = admin.call("save_channel", &[("name", "mail"), ("kind", "email"), ("destination", "not an address"), ("secret", "")]).await;
    assert!(bad.text().await.unwrap().contains("e-mail addresses"));
    let created = admin
        .call_ok(
            "save_alert_rule",
            &[
                ("name", "Denied in production"),
                ("kind", "match"),
                ("query", "env=production&outcome=denied"),
                ("threshold", ""),
                ("window_minutes", ""),
                ("group_by", ""),
                ("service_id", ""),
                ("channels", ""),
                ("renotify_minutes", ""),
            ],
        )
        .await;
    admin.call_ok("mute_alert_rule", &[("id", &created["id"].to_string()), ("minutes", "30")]).await;
    app.derived().await;
    for audited in ["service.create", "alert_channel.create", "alert_rule.create", "alert_rule.mute"] {
        let n = sqlx::query_scalar::<_, i64>("select count(*) from events where environment = 'vigil' and type = $1")
            .bind(audited)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "{audited} is audited");
    }
    app.add_user("viewer@example.com", "viewer", &["production"], &["*"]).await;
    let viewer = app.sign_in("viewer@example.com").await;
    let seen = viewer.call_ok("list_services", &[]).await;
    assert_eq!(seen[1].as_array().unwrap().len(), 0, "a production viewer does not see staging services");
    let denied = viewer.call("load_alerts", &[]).await;
    assert_eq!(denied.status(), 403, "a refusal, not a failure");
    assert!(denied.text().await.unwrap().contains("only administrators and auditors"));
    let denied = viewer.call("save_service", &form).await;
    assert!(denied.text().await.unwrap().contains("only administrators"));
    let page = admin.get("/services").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Status page"));
}

/// A form's fields as the console's client sends them.
fn as_pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[sqlx::test]
async fn an_alert_rule_is_edited_by_an_administrator_and_the_audit_names_what_changed(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let form = |id: &str, threshold: &str, group_by: &str, kind: &str| -> Vec<(&'static str, String)> {
        let mut form = vec![
            ("name", "Busy users".to_string()),
            ("kind", kind.to_string()),
            ("query", "env=production".to_string()),
            ("threshold", threshold.to_string()),
            ("window_minutes", "10".to_string()),
            ("group_by", group_by.to_string()),
            ("service_id", String::new()),
            ("channels", String::new()),
            ("renotify_minutes", "60".to_string()),
            ("notify_resolved", "on".to_string()),
        ];
        if !id.is_empty() {
            form.insert(0, ("id", id.to_string()));
        }
        form
    };
    let created = admin.call_ok("save_alert_rule", &as_pairs(&form("", "20", "user", "count"))).await["id"].to_string();

    admin.call_ok("save_alert_rule", &as_pairs(&form(&created, "5", "ip", "count"))).await;
    let rules = admin.call_ok("load_alerts", &[]).await["rules"].clone();
    let rule = &rules.as_array().unwrap().iter().find(|r| r["id"].to_string() == created).unwrap()["definition"];
    assert_eq!((rule["threshold"].clone(), rule["group_by"].clone(), rule["window_seconds"].clone()), (json!(5), json!("ip"), json!(600)));
    app.derived().await;
    let changes: Value = sqlx::query_scalar("select changes from events where environment = 'vigil' and type = 'alert_rule.update'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        changes,
        json!([{"field": "threshold", "old": 20, "new": 5}, {"field": "group_by", "old": "user", "new": "ip"}]),
        "only what changed"
    );

    let missing = admin.call("save_alert_rule", &as_pairs(&form("999999", "5", "ip", "count"))).await;
    assert_eq!(missing.status(), 404);
    let bad = admin.call("save_alert_rule", &as_pairs(&form(&created, "5", "ip", "sometimes"))).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("kind must be"));
    app.add_user("auditor@example.com", "auditor", &["*"], &["*"]).await;
    let auditor = app.sign_in("auditor@example.com").await;
    let refused = auditor.call("save_alert_rule", &as_pairs(&form(&created, "1", "", "count"))).await;
    assert_eq!(refused.status(), 403);
    let unchanged = admin.call_ok("load_alerts", &[]).await["rules"][0]["definition"]["threshold"].clone();
    assert_eq!(unchanged, json!(5), "a refused change changes nothing");
}

#[sqlx::test]
async fn a_service_is_edited_in_place_and_the_audit_names_what_changed(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let form = |id: &str, name: &str, kind: &str, target: &str, interval: &str| {
        let mut form = vec![
            ("name", name.to_string()),
            ("environment", "staging".to_string()),
            ("kind", kind.to_string()),
            ("target", target.to_string()),
            ("http_method", String::new()),
            ("expected_status", String::new()),
            ("keyword", String::new()),
            ("expected_address", String::new()),
            ("timeout_ms", "2000".to_string()),
            ("interval_seconds", interval.to_string()),
            ("down_after", String::new()),
            ("up_after", String::new()),
        ];
        if !id.is_empty() {
            form.insert(0, ("id", id.to_string()));
        }
        form
    };
    assert_eq!(admin.call("save_service", &as_pairs(&form("", "Database", "tcp", "127.0.0.1:9", "60"))).await.status(), 200);
    assert_eq!(admin.call("save_service", &as_pairs(&form("", "Other", "tcp", "127.0.0.1:9", "60"))).await.status(), 200);
    let id: i64 = sqlx::query_scalar("select id from services where name = 'Database'").fetch_one(&app.pool).await.unwrap();
    let results_before = app.count(&format!("select count(*) from service_results where service_id = {id}")).await;

    // Only the interval changes: the check goes on where it was.
    sqlx::query("update services set failures_in_row = 2 where id = $1").bind(id).execute(&app.pool).await.unwrap();
    admin.call_ok("save_service", &as_pairs(&form(&id.to_string(), "Database", "tcp", "127.0.0.1:9", "120"))).await;
    assert_eq!(app.count(&format!("select failures_in_row::bigint from services where id = {id}")).await, 2, "the same check keeps its runs in a row");

    // Another check (here, another target) starts over and runs at once; its results stay.
    let saved = admin.call("save_service", &as_pairs(&form(&id.to_string(), "Database", "tcp", "127.0.0.1:5432", "120"))).await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let stored: (String, String, i32, i32, bool) = sqlx::query_as(
        "select kind::text, target, interval_seconds, failures_in_row, next_run_at <= now() from services where id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, ("tcp".into(), "127.0.0.1:5432".into(), 120, 0, true));
    assert!(app.count(&format!("select count(*) from service_results where service_id = {id}")).await >= results_before, "its results stay");
    app.derived().await;
    let changes: Vec<Value> =
        sqlx::query_scalar("select changes from events where environment = 'vigil' and type = 'service.update' order by occurred_at, seq")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        changes,
        [json!([{"field": "interval_seconds", "old": 60, "new": 120}]), json!([{"field": "target", "old": "127.0.0.1:9", "new": "127.0.0.1:5432"}])],
        "only what changed"
    );

    // Its check changes too: an http check, then a heartbeat with an address shown once.
    admin.call_ok("save_service", &as_pairs(&form(&id.to_string(), "Database", "http", "http://127.0.0.1:9/health", "120"))).await;
    let kind: String = sqlx::query_scalar("select kind::text from services where id = $1").bind(id).fetch_one(&app.pool).await.unwrap();
    assert_eq!(kind, "http");
    let beat = |address: &str| app.client.post(format!("{}{address}", app.base)).send();
    let became: Value = admin.call_ok("save_service", &as_pairs(&form(&id.to_string(), "Database", "heartbeat", "", "120"))).await;
    let first = became["value"].as_str().expect("a heartbeat address").to_string();
    assert!(first.starts_with("/api/v1/heartbeats/"), "{became}");
    assert!(became["label"].as_str().unwrap().contains("Heartbeat address"), "{became}");
    assert_eq!(beat(&first).await.unwrap().status(), 200);
    // Saved again as it is: no new address, the first still works.
    let kept: Value = admin.call_ok("save_service", &as_pairs(&form(&id.to_string(), "Database", "heartbeat", "", "120"))).await;
    assert_eq!(kept, Value::Null);
    assert_eq!(beat(&first).await.unwrap().status(), 200);
    // A new address asked for: the old one stops working.
    let mut replace = form(&id.to_string(), "Database", "heartbeat", "", "120");
    replace.push(("new_heartbeat_address", "on".into()));
    let replaced: Value = admin.call_ok("save_service", &as_pairs(&replace)).await;
    let second = replaced["value"].as_str().expect("a new heartbeat address").to_string();
    assert_ne!(second, first);
    assert_eq!(beat(&first).await.unwrap().status(), 401);
    assert_eq!(beat(&second).await.unwrap().status(), 200);
    // No longer a heartbeat: no address works.
    admin.call_ok("save_service", &as_pairs(&form(&id.to_string(), "Database", "tcp", "127.0.0.1:5432", "120"))).await;
    assert_eq!(beat(&second).await.unwrap().status(), 401);
    assert_eq!(app.count(&format!("select count(*) from services where id = {id} and heartbeat_token_hash is null and last_heartbeat_at is null")).await, 1);
    app.derived().await;
    let replacement: Value = sqlx::query_scalar(
        "select changes from events where environment = 'vigil' and type = 'service.update' and changes @> '[{\"field\": \"heartbeat_address\"}]'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(replacement, json!([{"field": "heartbeat_address", "old": "previous", "new": "new"}]), "the address is never in the trail");
    let kinds: Vec<Value> = sqlx::query_scalar(
        "select c->'new' from events, jsonb_array_elements(changes) c where environment = 'vigil' and type = 'service.update' \
         and c->>'field' = 'kind' order by occurred_at, seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(kinds, [json!("http"), json!("heartbeat"), json!("tcp")], "each change of check is in the trail");

    let taken = admin.call("save_service", &as_pairs(&form(&id.to_string(), "Other", "tcp", "127.0.0.1:5432", "120"))).await;
    assert_eq!(taken.status(), 409);
    let missing = admin.call("save_service", &as_pairs(&form("999999", "Database", "tcp", "127.0.0.1:9", "60"))).await;
    assert_eq!(missing.status(), 404);
    let invalid = admin.call("save_service", &as_pairs(&form(&id.to_string(), "Database", "tcp", "no port", "60"))).await;
    assert_eq!(invalid.status(), 400);
    app.add_user("auditor@example.com", "auditor", &["*"], &["*"]).await;
    let auditor = app.sign_in("auditor@example.com").await;
    let refused = auditor.call("save_service", &as_pairs(&form(&id.to_string(), "Mine", "tcp", "127.0.0.1:1", "60"))).await;
    assert_eq!(refused.status(), 403);
    let name: String = sqlx::query_scalar("select name from services where id = $1").bind(id).fetch_one(&app.pool).await.unwrap();
    assert_eq!(name, "Database", "a refused change changes nothing");
}

#[sqlx::test]
async fn a_channel_is_edited_in_place_its_rules_keep_it_and_a_blank_secret_is_kept(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let channel = |id: &str, name: &str, kind: &str, destination: &str, secret: &str| {
        let mut form = vec![("name", name.to_string()), ("kind", kind.to_string()), ("destination", destination.to_string()), ("secret", secret.to_string())];
        if !id.is_empty() {
            form.insert(0, ("id", id.to_string()));
        }
        form
    };
    admin.call_ok("save_channel", &as_pairs(&channel("", "On-call", "webhook", "http://127.0.0.1:9/a", "first secret"))).await;
    admin.call_ok("save_channel", &as_pairs(&channel("", "Mail", "email", "oncall@example.com", ""))).await;
    let id: i64 = sqlx::query_scalar("select id from alert_channels where name = 'On-call'").fetch_one(&app.pool).await.unwrap();
    let rule = store::alerts::insert_rule(&app.pool, &rule("Denied", AlertKind::Match, "outcome=denied", vec![id]), "test").await.unwrap();

    // Posted as e-mail, still a webhook; no secret given: the first one stays.
    admin.call_ok("save_channel", &as_pairs(&channel(&id.to_string(), "Pager", "email", "https://hooks.example.com/b", ""))).await;
    let stored = store::alerts::channel(&app.pool, id).await.unwrap().unwrap();
    assert_eq!(stored, ("Pager".into(), ChannelKind::Webhook, "https://hooks.example.com/b".into(), Some("first secret".into())));
    admin.call_ok("save_channel", &as_pairs(&channel(&id.to_string(), "Pager", "webhook", "https://hooks.example.com/b", "second secret"))).await;
    assert_eq!(store::alerts::channel(&app.pool, id).await.unwrap().unwrap().3.as_deref(), Some("second secret"));
    let channels: Vec<i64> = sqlx::query_scalar("select unnest(channel_ids) from alert_rules where id = $1").bind(rule).fetch_all(&app.pool).await.unwrap();
    assert_eq!(channels, vec![id], "the rule still notifies it");

    app.derived().await;
    let changes: Vec<Value> = sqlx::query_scalar("select changes from events where environment = 'vigil' and type = 'alert_channel.update' order by seq")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        changes,
        vec![
            json!([{"field": "name", "old": "On-call", "new": "Pager"}, {"field": "destination", "old": "http://127.0.0.1:9/a", "new": "https://hooks.example.com/b"}]),
            // A changed secret is named, its values redacted like every secret before storage.
            json!([{"field": "secret", "old": "[REDACTED]", "new": "[REDACTED]"}]),
        ]
    );
    let stored_events: String = sqlx::query_scalar("select string_agg(changes::text, ' ') from events where environment = 'vigil'").fetch_one(&app.pool).await.unwrap();
    assert!(!stored_events.contains("second secret"), "no secret in the audit trail");

    let taken = admin.call("save_channel", &as_pairs(&channel(&id.to_string(), "Mail", "webhook", "https://hooks.example.com/b", ""))).await;
    assert_eq!(taken.status(), 409);
    let missing = admin.call("save_channel", &as_pairs(&channel("999999", "X", "webhook", "https://hooks.example.com/b", ""))).await;
    assert_eq!(missing.status(), 404);
    let invalid = admin.call("save_channel", &as_pairs(&channel(&id.to_string(), "Pager", "webhook", "not a url", ""))).await;
    assert_eq!(invalid.status(), 400);
    app.add_user("auditor@example.com", "auditor", &["*"], &["*"]).await;
    let auditor = app.sign_in("auditor@example.com").await;
    let refused = auditor.call("save_channel", &as_pairs(&channel(&id.to_string(), "Mine", "webhook", "https://evil.example.com", ""))).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(store::alerts::channel(&app.pool, id).await.unwrap().unwrap().0, "Pager", "a refused change changes nothing");
}

#[sqlx::test]
async fn a_rule_on_a_user_sees_their_first_event_by_id_e_mail_or_name(pool: PgPool) {
    let app = spawn(pool).await;
    for (n, user) in ["u-new", "newcomer@example.com", "New Comer"].iter().enumerate() {
        let query = format!("user={}", user.replace(' ', "+"));
        store::alerts::insert_rule(&app.pool, &rule(&format!("rule {n}"), AlertKind::Match, &query, vec![]), "test").await.unwrap();
    }
    let mut first = event("first-of-newcomer", &Utc::now().to_rfc3339());
    first["actor"] = json!({"id": "u-new", "email": "newcomer@example.com", "name": "New Comer"});
    let response = app.client.post(format!("{}/api/v1/events", app.base)).bearer_auth(helpers::KEY).json(&json!([first])).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // Not for the names (rules match the event's own columns): so that the batch is below the watermark.
    app.derived().await;
    while vigil::alerts::follow_ledger(&app.state, Utc::now()).await.unwrap() > 0 {}
    let counts: Vec<i64> = sqlx::query_scalar("select count from alert_history order by rule_id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(counts, [1, 1, 1]);
}

#[sqlx::test]
async fn a_channel_or_service_that_rules_use_is_not_deleted_with_them(pool: PgPool) {
    let app = spawn(pool).await;
    let admin = app.console("admin").await;
    let now = Utc::now();
    let channel = webhook_channel(&app, "http://127.0.0.1:9/hook").await;
    let service_id = add_service(&app, &service("Checkout", CheckKind::Tcp, "127.0.0.1:9"), now).await;
    let down = AlertRuleDefinition { service_id: Some(service_id), ..rule("Checkout down", AlertKind::ServiceDown, "", vec![channel]) };
    let down = store::alerts::insert_rule(&app.pool, &down, "test").await.unwrap();
    store::alerts::insert_rule(&app.pool, &rule("Denied", AlertKind::Match, "outcome=denied", vec![channel]), "test").await.unwrap();

    // Kept, and the refusal names every rule that uses it.
    let refused = admin.call("delete_channel", &[("id", &channel.to_string())]).await;
    assert_eq!(refused.status(), 409);
    let message = refused.text().await.unwrap();
    assert!(message.contains("“Checkout down”, “Denied”") && message.contains("change or delete them first"), "{message}");
    let refused = admin.call("delete_service", &[("id", &service_id.to_string())]).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("“Checkout down”"));
    let rules = app.count("select count(*) from alert_rules").await;
    assert_eq!((rules, app.count("select count(*) from alert_channels").await, app.count("select count(*) from services").await), (2, 1, 1));

    // Once no rule uses them, they go; a second delete is a 404; the trail has the deletions only.
    admin.call_ok("delete_alert_rule", &[("id", &down.to_string())]).await;
    admin.call_ok("delete_service", &[("id", &service_id.to_string())]).await;
    assert_eq!(admin.call("delete_service", &[("id", &service_id.to_string())]).await.status(), 404);
    sqlx::query("update alert_rules set channel_ids = '{}'").execute(&app.pool).await.unwrap();
    admin.call_ok("delete_channel", &[("id", &channel.to_string())]).await;
    assert_eq!(admin.call("delete_channel", &[("id", &channel.to_string())]).await.status(), 404);
    app.derived().await;
    let trail = app.count("select count(*) from events where environment = 'vigil' and type in ('alert_channel.delete', 'service.delete')").await;
    assert_eq!(trail, 2);
}

#[sqlx::test]
async fn the_alert_form_weighs_a_view_against_the_last_seven_days(pool: PgPool) {
    let app = spawn(pool).await;
    let now = Utc::now();
    let denied = |id: String, at: DateTime<Utc>, environment: &str| {
        let mut e = event(&id, &at.to_rfc3339());
        e["environment"] = json!(environment);
        e["outcome"] = json!("denied");
        e["reason"] = json!("not allowed");
        e
    };
    let mut batch: Vec<Value> = (0..3).map(|i| denied(format!("today-{i}"), now, "production")).collect();
    batch.extend((0..5).map(|i| denied(format!("before-{i}"), now - Duration::days(2), "production")));
    batch.push(denied("old".into(), now - Duration::days(30), "production"));
    batch.push(denied("staging".into(), now, "staging"));
    assert_eq!(app.ingest(&json!(batch)).await.0, 200);
    app.derived().await;

    let admin = app.console("admin").await;
    let weighed = admin.call_ok("count_view_matches", &[("query", "env=production&outcome=denied&range=1h")]).await;
    assert_eq!(weighed, json!({"days": 7, "total": 8, "busiest_day": 5}), "the view's own range is not the rule's");
    let everything = admin.call_ok("count_view_matches", &[("query", "outcome=denied")]).await;
    assert_eq!(everything["total"], 9);
    let auditor = app.console("auditor").await;
    assert_eq!(auditor.call("count_view_matches", &[("query", "")]).await.status(), 403);
}

#[sqlx::test]
async fn a_count_rule_is_replayed_on_the_last_seven_days_before_it_is_saved(pool: PgPool) {
    let app = spawn(pool).await;
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let (first, second) = (now - Duration::days(2), now - Duration::days(1));
    let denied = |id: &str, at: DateTime<Utc>, user: &str, environment: &str| {
        let mut e = event(id, &at.to_rfc3339());
        e["environment"] = json!(environment);
        e["outcome"] = json!("denied");
        e["reason"] = json!("not allowed");
        e["actor"] = json!({"id": user, "email": format!("{user}@acme.example")});
        e
    };
    let minutes = Duration::minutes;
    let mut batch = Vec::new();
    // Ana: four within 3 minutes two days ago (one start), three yesterday (another).
    for (n, at) in [first, first + minutes(1), first + minutes(2), first + minutes(3), second, second + minutes(1), second + minutes(2)].into_iter().enumerate() {
        batch.push(denied(&format!("ana-{n}"), at, "ana", "production"));
    }
    // Ben: two, 9 minutes after Ana's third: with hers in the window, all
    // together reach three again; on his own, never.
    batch.push(denied("ben-0", first + Duration::seconds(11 * 60 + 30), "ben", "production"));
    batch.push(denied("ben-1", first + minutes(12), "ben", "production"));
    // Cleo: three at the same instant, 30 minutes after Ana's first (one start).
    for n in 0..3 {
        batch.push(denied(&format!("cleo-{n}"), first + minutes(30), "cleo", "production"));
    }
    // Out of the view or of the days replayed.
    for n in 0..3 {
        batch.push(denied(&format!("old-{n}"), now - Duration::days(10) + minutes(n), "ana", "production"));
        batch.push(denied(&format!("staging-{n}"), now - Duration::hours(5) + minutes(n), "ana", "staging"));
    }
    assert_eq!(app.ingest(&json!(batch)).await.0, 200);
    app.derived().await;

    let admin = app.console("admin").await;
    let check = |kind: &'static str, group_by: &'static str, threshold: &'static str| {
        vec![
            ("dry_run", "yes"),
            ("name", ""),
            ("kind", kind),
            ("query", "env=production&outcome=denied&range=1h"),
            ("threshold", threshold),
            ("window_minutes", "10"),
            ("group_by", group_by),
            ("service_id", ""),
            ("channels", ""),
            ("renotify_minutes", "60"),
        ]
    };
    let per_user = admin.call_ok("save_alert_rule", &check("count", "user", "3")).await;
    assert_eq!(per_user["id"], Value::Null, "a check saves nothing");
    let replay = &per_user["replay"];
    assert_eq!((replay["days"].clone(), replay["fired"].clone(), replay["groups"].clone()), (json!(7), json!(3), json!(2)), "{replay}");
    assert_eq!(replay["most"], json!(["ana@acme.example", 2]));
    let last: DateTime<Utc> = serde_json::from_value(replay["last"].clone()).unwrap();
    assert_eq!(last, second + minutes(2), "the third of yesterday's burst");

    let together = admin.call_ok("save_alert_rule", &check("count", "", "3")).await;
    assert_eq!(together["replay"]["fired"], 4, "Ben's two with Ana's last two start it again: {together}");
    let never = admin.call_ok("save_alert_rule", &check("count", "user", "5")).await;
    assert_eq!((never["replay"]["fired"].clone(), never["replay"]["last"].clone()), (json!(0), Value::Null));

    let not_a_count = admin.call("save_alert_rule", &check("match", "", "")).await;
    assert_eq!(not_a_count.status(), 400);
    assert!(not_a_count.text().await.unwrap().contains("only a count rule"));
    let auditor = app.console("auditor").await;
    assert_eq!(auditor.call("save_alert_rule", &check("count", "user", "3")).await.status(), 403);
    let rules: i64 = sqlx::query_scalar("select count(*) from alert_rules").fetch_one(&app.pool).await.unwrap();
    app.derived().await;
    let audited: i64 = sqlx::query_scalar("select count(*) from events where environment = 'vigil' and type like 'alert_rule.%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((rules, audited), (0, 0), "checks save and audit nothing");
}
