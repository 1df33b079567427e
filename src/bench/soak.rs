//! `vigil soak`: a mixed load on a running `vigil serve` for a while — explorer
//! pages with random filters, event-detail pages, list-API pages and ingest
//! batches from several concurrent clients — then requests/s and p50/p99 per
//! kind, the errors, and the server's memory after warm-up and at the end.
//! Fails when any request failed or memory grew by more than a fifth
//! (`make reliability`).

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::{body_of, exchange, get, ingest_request, keyed_get, sign_in, PAGES, SESSION_PAGES};
use crate::config::DatabaseConfig;
use crate::demo::Generator;

#[derive(Args, Clone, Debug)]
pub struct SoakArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Address of the running `vigil serve`.
    #[arg(long, default_value = "127.0.0.1:3300")]
    pub server: String,
    /// Its process id, for its memory (VmRSS).
    #[arg(long)]
    pub pid: Option<u32>,
    #[arg(long, env = "VIGIL_INGEST_KEY", hide_env_values = true)]
    pub key: String,
    #[arg(long, env = "VIGIL_EXPORT_KEY", hide_env_values = true)]
    pub export_key: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds of load after a warm-up of a tenth of that.
    #[arg(long, default_value_t = 300)]
    pub seconds: u64,
}

/// The kinds of request, in the order of the report.
const KINDS: [&str; 5] = ["explorer page", "sessions page", "event detail", "list API", "ingest batch"];

/// One client's requests: (kind, milliseconds) and the errors it met.
#[derive(Default)]
struct Tally {
    times: Vec<(usize, f64)>,
    errors: Vec<String>,
}

pub async fn run(args: SoakArgs) -> anyhow::Result<()> {
    let pool = crate::store::connect(&args.database).await?;
    let cookie = sign_in(&pool, &args.server).await?;
    let ids = event_ids(&args).await?;
    anyhow::ensure!(!ids.is_empty(), "the store has no events to open");
    println!("soak: {} clients, warm-up {} s, then {} s", args.clients, args.seconds / 10, args.seconds);

    drive(&args, &cookie, &ids, Duration::from_secs(args.seconds / 10)).await;
    let rss_warm = rss_kib(args.pid);
    let started = Instant::now();
    let tallies = drive(&args, &cookie, &ids, Duration::from_secs(args.seconds)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let rss_end = rss_kib(args.pid);

    println!("{:<16} {:>9} {:>10} {:>10} {:>10} {:>7}", "kind", "requests", "per s", "p50 ms", "p99 ms", "errors");
    let errors: Vec<&String> = tallies.iter().flat_map(|t| &t.errors).collect();
    for (index, kind) in KINDS.iter().enumerate() {
        let mut ms: Vec<f64> = tallies.iter().flat_map(|t| &t.times).filter(|(k, _)| *k == index).map(|(_, t)| *t).collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| ms.get(((ms.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
        let failed = errors.iter().filter(|e| e.starts_with(kind)).count();
        println!("{kind:<16} {:>9} {:>10.1} {:>10.1} {:>10.1} {failed:>7}", ms.len(), ms.len() as f64 / elapsed, at(0.5), at(0.99));
    }
    for error in errors.iter().take(10) {
        println!("error: {error}");
    }
    if let (Some(warm), Some(end)) = (rss_warm, rss_end) {
        let growth = end as f64 / warm as f64 - 1.0;
        println!("server memory: {} MiB after warm-up, {} MiB at the end ({:+.1} %)", warm / 1024, end / 1024, growth * 100.0);
        anyhow::ensure!(growth <= 0.2, "the server's memory grew by more than 20 %");
    }
    anyhow::ensure!(errors.is_empty(), "{} requests failed", errors.len());
    Ok(())
}

/// Run the clients until `length` has passed.
async fn drive(args: &SoakArgs, cookie: &str, ids: &[String], length: Duration) -> Vec<Tally> {
    let until = Instant::now() + length;
    let clients: Vec<_> = (0..args.clients)
        .map(|n| {
            let (args, cookie, ids) = (args.clone(), cookie.to_string(), ids.to_vec());
            tokio::spawn(async move {
                let mut rng = SmallRng::seed_from_u64(n as u64 ^ until.elapsed().as_nanos() as u64);
                // Demo events of the last day, a few thousand at a time (a generator makes whole days).
                let fresh = |round: u64| Generator::new(n as u64 * 1000 + round, 1, Utc::now(), 5_000);
                let (mut round, mut generator) = (0, fresh(0));
                let mut tally = Tally::default();
                while Instant::now() < until {
                    let kind = rng.gen_range(0..KINDS.len());
                    let started = Instant::now();
                    let outcome = match kind {
                        0 => get(&args.server, &format!("/events?{}", PAGES[rng.gen_range(0..PAGES.len())]), &cookie).await.map(drop),
                        1 => get(&args.server, SESSION_PAGES[rng.gen_range(0..SESSION_PAGES.len())], &cookie).await.map(drop),
                        2 => get(&args.server, &format!("/events/{}", ids[rng.gen_range(0..ids.len())]), &cookie).await.map(drop),
                        3 => api(&args, &format!("/api/v1/events?page_size=100&{}", PAGES[rng.gen_range(0..PAGES.len())])).await,
                        _ => {
                            let mut batch = generator.take(100);
                            if batch.is_empty() {
                                round += 1;
                                generator = fresh(round);
                                batch = generator.take(100);
                            }
                            ingest(&args, &serde_json::to_string(&batch).unwrap_or_default()).await
                        }
                    };
                    match outcome {
                        Ok(()) => tally.times.push((kind, started.elapsed().as_secs_f64() * 1000.0)),
                        Err(error) => tally.errors.push(format!("{}: {error}", KINDS[kind])),
                    }
                }
                tally
            })
        })
        .collect();
    let mut tallies = Vec::new();
    for client in clients {
        tallies.push(client.await.unwrap_or_default());
    }
    tallies
}

/// A GET of the list API with the export key; fails unless 200.
async fn api(args: &SoakArgs, path: &str) -> anyhow::Result<()> {
    let response = exchange(&args.server, keyed_get(&args.server, path, &args.export_key)).await?;
    anyhow::ensure!(response.starts_with("HTTP/1.1 200"), "{path}: {}", &response[..response.len().min(200)]);
    Ok(())
}

async fn ingest(args: &SoakArgs, body: &str) -> anyhow::Result<()> {
    let response = exchange(&args.server, ingest_request(&args.server, &args.key, body)).await?;
    anyhow::ensure!(response.starts_with("HTTP/1.1 200"), "{}", &response[..response.len().min(200)]);
    Ok(())
}

/// Ids of recent events, from the list API, to open their detail pages.
async fn event_ids(args: &SoakArgs) -> anyhow::Result<Vec<String>> {
    let path = "/api/v1/events?range=30d&page_size=500";
    let response = exchange(&args.server, keyed_get(&args.server, path, &args.export_key)).await?;
    let page: serde_json::Value = serde_json::from_str(body_of(&response))?;
    Ok(page["events"].as_array().into_iter().flatten().filter_map(|e| e["id"].as_str().map(String::from)).collect())
}

/// The server's resident memory in KiB, when its pid is known.
fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}
