//! `vigil load`: demo events sent to a running `vigil serve` through the real
//! HTTP ingest endpoint by several concurrent clients, either as fast as the
//! server takes them (the ingest figure of `make bench`) or at a steady rate
//! (the deriving worker's lag, sampled from the health endpoint).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use super::{body_of, exchange, ingest_request, keyed_get};
use crate::demo::Generator;
use crate::model::{LedgerStatus, WatermarkHolder};

#[derive(Args, Clone, Debug)]
pub struct LoadArgs {
    /// Address of the running `vigil serve`.
    #[arg(long, default_value = "127.0.0.1:3300")]
    pub server: String,
    /// Ingest key.
    #[arg(long, env = "VIGIL_INGEST_KEY", hide_env_values = true)]
    pub key: String,
    /// Export key, for the health endpoint (the worker's lag).
    #[arg(long, env = "VIGIL_EXPORT_KEY", hide_env_values = true)]
    pub export_key: String,
    /// How many events to send.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Spread the events over this many days up to now.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Events per request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Events per second to send at; 0 sends as fast as the server takes them.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    #[arg(long, default_value_t = 11)]
    pub seed: u64,
}

/// Send the events, print the rate, then how long the worker took to catch up.
pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let progress = ProgressBar::new(args.events);
    progress.set_style(ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} events ({per_sec}, eta {eta})",
    )?);
    let (sender, receiver) = mpsc::channel::<(usize, String)>(args.clients * 2);
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..args.clients)
        .map(|_| {
            let (receiver, sent, progress, args) = (receiver.clone(), sent.clone(), progress.clone(), args.clone());
            tokio::spawn(async move {
                loop {
                    let Some((events, body)) = receiver.lock().await.recv().await else { return Ok::<_, anyhow::Error>(()) };
                    post(&args, body).await?;
                    sent.fetch_add(events as u64, Ordering::Relaxed);
                    progress.inc(events as u64);
                }
            })
        })
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = (args.rate > 0).then(|| tokio::spawn(sample_lag(args.clone(), stop.clone())));
    generate(&args, sender).await;
    for client in clients {
        client.await??;
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let total = sent.load(Ordering::Relaxed);
    println!(
        "load: {total} events over HTTP by {} clients in {seconds:.1} s: {:.0} events/s ({} batches sent again after a 503)",
        args.clients,
        total as f64 / seconds,
        RETRIES.load(Ordering::Relaxed)
    );
    let ended = Instant::now();
    if let Some(sampler) = sampler {
        stop.store(true, Ordering::Relaxed);
        report_lags(&sampler.await?);
    }
    wait_for_worker(&args).await?;
    println!("load: the deriving worker caught up {:.1} s after the load ended", ended.elapsed().as_secs_f64());
    Ok(())
}

/// Produce the batches as JSON bodies, paced when a rate is set.
async fn generate(args: &LoadArgs, sender: mpsc::Sender<(usize, String)>) {
    let mut generator = Generator::new(args.seed, args.days, Utc::now(), args.events);
    let started = Instant::now();
    let mut produced = 0u64;
    while produced < args.events {
        let events = generator.take((args.events - produced).min(args.batch as u64) as usize);
        if events.is_empty() {
            break;
        }
        produced += events.len() as u64;
        let body = serde_json::to_string(&events).expect("JSON serialises");
        if sender.send((events.len(), body)).await.is_err() {
            break;
        }
        if args.rate > 0 {
            let due = Duration::from_secs_f64(produced as f64 / args.rate as f64);
            tokio::time::sleep(due.saturating_sub(started.elapsed())).await;
        }
    }
}

/// Send one batch; a 503 (the server is saturated or the database away) is
/// sent again after its Retry-After, as a well-behaved sender would.
async fn post(args: &LoadArgs, body: String) -> anyhow::Result<()> {
    for _ in 0..10 {
        let response = exchange(&args.server, ingest_request(&args.server, &args.key, &body)).await?;
        if response.starts_with("HTTP/1.1 200") {
            return Ok(());
        }
        anyhow::ensure!(response.starts_with("HTTP/1.1 503"), "ingest failed: {}", &response[..response.len().min(300)]);
        RETRIES.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    anyhow::bail!("ingest kept answering 503")
}

/// Batches sent again after a 503.
static RETRIES: AtomicU64 = AtomicU64::new(0);

/// The health endpoint's ledger: seconds since the oldest underived batch was
/// received, the events not derived yet, and what holds the watermark back.
async fn worker_lag(args: &LoadArgs) -> anyhow::Result<(f64, i64, Option<String>)> {
    let response = exchange(&args.server, keyed_get(&args.server, "/api/v1/health", &args.export_key)).await?;
    let health: serde_json::Value = serde_json::from_str(body_of(&response))?;
    let ledger: LedgerStatus = serde_json::from_value(health["ledger"].clone())?;
    let holder = ledger.watermark_holder.as_ref().map(holder_name);
    Ok((ledger.derive_lag_seconds(Utc::now()), ledger.underived_events, holder))
}

/// A watermark holder as the report names it.
fn holder_name(holder: &WatermarkHolder) -> String {
    let name = holder.application_name.as_deref().filter(|name| !name.is_empty()).unwrap_or("no application name");
    format!("pid {} ({name}, {}, {:.1} s into its transaction)", holder.pid, holder.state.as_deref().unwrap_or("?"), holder.age_seconds)
}

/// One look at the worker: its lag, and what held the watermark then.
struct LagSample {
    lag: f64,
    holder: Option<String>,
}

/// The worker's lag every half second until `stop`.
async fn sample_lag(args: LoadArgs, stop: Arc<std::sync::atomic::AtomicBool>) -> Vec<LagSample> {
    let mut samples = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if let Ok((lag, _, holder)) = worker_lag(&args).await {
            samples.push(LagSample { lag, holder });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    samples
}

/// The lag's percentiles, and how often (and by what, at the largest lag) an
/// open transaction held the watermark back: the worker waits behind it.
fn report_lags(samples: &[LagSample]) {
    let mut sorted: Vec<f64> = samples.iter().map(|s| s.lag).collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| sorted.get(((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    println!("load: worker lag over {} samples: p50 {:.2} s, p99 {:.2} s, max {:.2} s", sorted.len(), at(0.5), at(0.99), at(1.0));
    let held = samples.iter().filter(|s| s.holder.is_some()).count();
    let largest = samples.iter().max_by(|a, b| a.lag.total_cmp(&b.lag));
    let holder = largest.and_then(|s| s.holder.as_deref()).unwrap_or("nothing (the worker was deriving)");
    println!("load: the watermark was held back in {held} of {} samples; at the largest lag by {holder}", samples.len());
}

async fn wait_for_worker(args: &LoadArgs) -> anyhow::Result<()> {
    loop {
        let (_, underived, _) = worker_lag(args).await?;
        if underived == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
