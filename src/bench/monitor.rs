//! `vigil bench-monitor`: the figures of availability checks and alerts on a
//! running `vigil serve` (`make bench-monitor`).
//! - `rules`: 50 any-match rules over the demo's vocabulary and 20 count rules,
//!   ten of them notifying a webhook — the server's own heartbeat endpoint,
//!   so that a delivery completes end to end;
//! - `latency`: once the evaluator and the deliveries have caught up, how long
//!   events took from being received to their notification being delivered;
//! - `checks`: many HTTP checks at the shortest interval against the server
//!   itself, then how late their runs started against their schedule.

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::{Args, Subcommand};

use crate::config::DatabaseConfig;
use crate::model::{AlertKind, AlertRuleDefinition, ChannelKind, CheckKind, GroupBy, ServiceDefinition};
use crate::store::{alerts, monitor};

#[derive(Args, Clone, Debug)]
pub struct MonitorBenchArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Address of the running `vigil serve`.
    #[arg(long, default_value = "127.0.0.1:3300")]
    pub server: String,
    #[command(subcommand)]
    pub step: Step,
}

#[derive(Subcommand, Clone, Debug)]
pub enum Step {
    /// Create the benchmark's alert rules.
    Rules,
    /// Wait for evaluation and delivery, then print the notification latency
    /// of the events received since a time.
    Latency {
        #[arg(long)]
        since: chrono::DateTime<Utc>,
    },
    /// Create HTTP checks every 15 s against the server, wait, print how late they ran.
    Checks {
        #[arg(long, default_value_t = 200)]
        services: usize,
        #[arg(long, default_value_t = 90)]
        seconds: u64,
    },
}

const TYPES: [&str; 10] = [
    "app.view", "app.update", "data_query.execute", "role.update", "role.permission_add",
    "user_group.member_add", "data_source.update", "session.sign_in", "api.access", "folder.create",
];
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "development"];

pub async fn run(args: MonitorBenchArgs) -> anyhow::Result<()> {
    let pool = crate::store::connect(&args.database).await?;
    match args.step {
        Step::Rules => rules(&pool, &args.server).await,
        Step::Latency { since } => latency(&pool, since).await,
        Step::Checks { services, seconds } => checks(&pool, &args.server, services, seconds).await,
    }
}

fn rule(name: String, kind: AlertKind, query: String, channel_ids: Vec<i64>) -> AlertRuleDefinition {
    AlertRuleDefinition { channel_ids, renotify_seconds: 600, ..AlertRuleDefinition::new(name, kind, query) }
}

async fn rules(pool: &sqlx::PgPool, server: &str) -> anyhow::Result<()> {
    let token = crate::auth::random_token(24);
    let receiver = ServiceDefinition { interval_seconds: 3600, ..service("bench receiver".into(), CheckKind::Heartbeat, String::new()) };
    monitor::insert(pool, &receiver, Some(&crate::monitor::token_hash(&token)), Utc::now(), "bench").await?;
    let url = format!("http://{server}/api/v1/heartbeats/{token}");
    let channel = alerts::insert_channel(pool, "bench webhook", ChannelKind::Webhook, &url, Some("bench"), "bench").await?;
    for n in 0..50 {
        let (event_type, environment) = (TYPES[n % TYPES.len()], ENVIRONMENTS[n / TYPES.len() % ENVIRONMENTS.len()]);
        let query = match n {
            0..=29 => format!("type={event_type}&env={environment}"),
            30..=39 => format!("type={event_type}&outcome=failure"),
            _ => format!("env={environment}&outcome=denied&q=support"),
        };
        let channels = if n % 5 == 0 { vec![channel] } else { Vec::new() };
        alerts::insert_rule(pool, &rule(format!("bench match {n}"), AlertKind::Match, query, channels), "bench").await?;
    }
    for n in 0..20 {
        let environment = ENVIRONMENTS[n % ENVIRONMENTS.len()];
        let counted = AlertRuleDefinition {
            threshold: Some(20),
            window_seconds: Some(600),
            group_by: [None, Some(GroupBy::User), Some(GroupBy::Ip)][n % 3],
            ..rule(format!("bench count {n}"), AlertKind::Count, format!("type=session.sign_in&outcome=failure&env={environment}"), Vec::new())
        };
        alerts::insert_rule(pool, &counted, "bench").await?;
    }
    println!("bench-monitor: 50 any-match rules (10 notify {url}) and 20 count rules");
    Ok(())
}

async fn latency(pool: &sqlx::PgPool, since: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    let started = Instant::now();
    while crate::store::ledger::backlog_events(pool, "alerts").await? > 0 || alerts::undelivered(pool).await? > 0 {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "alerts did not catch up within 10 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("bench-monitor: evaluation and delivery caught up {:.1} s after the load", started.elapsed().as_secs_f64());
    let (n, p50, p99, max) = alerts::notification_latency(pool, since).await?;
    println!("notification latency (received → delivered), {n} events named: p50 {p50:.2} s, p99 {p99:.2} s, max {max:.2} s");
    Ok(())
}

fn service(name: String, kind: CheckKind, target: String) -> ServiceDefinition {
    ServiceDefinition { timeout_ms: 5_000, interval_seconds: 15, ..ServiceDefinition::new(name, "bench", kind, target) }
}

async fn checks(pool: &sqlx::PgPool, server: &str, services: usize, seconds: u64) -> anyhow::Result<()> {
    let now = Utc::now();
    for n in 0..services {
        let check = service(format!("bench check {n}"), CheckKind::Http, format!("http://{server}/login"));
        monitor::insert(pool, &check, None, now, "bench").await?;
    }
    println!("bench-monitor: {services} HTTP checks every 15 s against http://{server}/login; waiting {seconds} s");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    // The first run of each falls at creation, all at once: lateness counts the runs after it.
    let (runs, p50, p99, max, failed) = monitor::lateness(pool, now + chrono::Duration::seconds(16)).await?;
    let expected = services as f64 * (seconds as f64 - 16.0) / 15.0;
    println!(
        "checks: {runs} runs (about {expected:.0} scheduled), started late by p50 {p50} ms, p99 {p99} ms, max {max} ms; {failed} failed"
    );
    Ok(())
}
