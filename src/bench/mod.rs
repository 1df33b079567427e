//! `vigil bench`: the explorer's performance figures on the data in the store.
//! Times server-side renders of the events page over HTTP (a running `vigil
//! serve`) for single filters and combinations, and the histogram aggregation
//! for ranges up to 90 days, and prints the first run, medians and 95th percentiles. Pages are
//! read as a signed-in auditor (`bench@vigil.local`, created with a fresh password).
//! `load` sends events through the HTTP ingest endpoint; `soak` runs a mixed
//! load of pages, API reads and ingest for a while; `monitor` times checks and alerts.

pub mod load;
pub mod monitor;
pub mod soak;

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::DatabaseConfig;
use crate::model::{EventFilter, Scope};
use crate::query::{filter::resolve_span, histogram};

#[derive(Args, Clone, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Address of a running `vigil serve` whose pages are timed.
    #[arg(long, default_value = "127.0.0.1:3300")]
    pub server: String,
    /// Timed runs per case (after one warm-up run).
    #[arg(long, default_value_t = 15)]
    pub runs: usize,
    /// End every range at 00:00 UTC of this day (e.g. 2026-11-21) instead of
    /// now, so that figures on a loaded data set do not change as it ages.
    #[arg(long)]
    pub until: Option<NaiveDate>,
}

/// Pages: one per filter and a few combinations, over the default 24 hours and longer ranges.
const PAGES: [&str; 22] = [
    "",
    "env=production",
    "org=org_acme",
    "user=usr_0007",
    "user=ana.silva@acme.example",
    "app=app_billing",
    "type=role.permission_add",
    "type=app.view&type=api.access",
    "category=session",
    "outcome=denied",
    "target=role_support",
    "ip=126.0.232.10",
    "q=Support",
    "q=lindqvist",
    "q=91.64*",
    "range=90d&q=support",
    "range=7d&env=production&type=role.update",
    "range=30d&outcome=denied&app=app_insight",
    "range=90d&user=usr_0012&type=app.update",
    "range=90d&target=role_support&type=role.permission_add",
    "range=90d",
    "range=90d&env=staging&org=org_globex&category=change",
];

/// The sessions page: active sessions and the last 7 days, with each filter.
const SESSION_PAGES: [&str; 10] = [
    "/sessions",
    "/sessions?status=all",
    "/sessions?env=production",
    "/sessions?env=production&status=all",
    "/sessions?org=org_acme&status=all",
    "/sessions?user=usr_0007&status=all",
    "/sessions?country=DE&status=all",
    "/sessions?device=mobile&status=all",
    "/sessions?flag=new_device&status=all",
    "/sessions?flag=impossible_travel",
];

/// The compare page: the issue's case (three environments, 30 days) and others.
const COMPARE_PAGES: [&str; 4] = [
    "env=production&env=staging&env=development&range=30d",
    "range=30d",
    "env=production&env=staging&range=7d&kind=role",
    "env=production&env=staging&env=development&range=90d&type=role.permission_add",
];

const CONCURRENT_CLIENTS: usize = 16;
const CONCURRENT_SECONDS: u64 = 10;

/// Chart ranges and filters for the aggregation figures.
const CHARTS: [&str; 20] = [
    "range=15m",
    "range=1h",
    "range=24h",
    "range=7d",
    "range=30d",
    "range=90d",
    "range=90d&env=production",
    "range=90d&type=role.permission_add",
    "range=90d&outcome=denied",
    "range=30d&app=app_billing&env=production",
    "range=7d&user=usr_0007",
    "range=90d&target=role_support",
    "range=90d&ip=126.0.232.10",
    "range=24h&q=Support",
    "range=24h&q=lindqvist",
    "range=24h&q=91.64*",
    "range=7d&q=support",
    "range=90d&q=support",
    "range=90d&env=production&q=support",
    "range=90d&q=126.0.232.10",
];

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let pool = crate::store::connect(&args.database).await?;
    println!("store: {} events\n", crate::query::event_count(&pool).await?);

    let until = args.until.map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc());
    if let Some(until) = until {
        println!("every range ends at {until} (its presets as from/to)\n");
    }
    let cookie = sign_in(&pool, &args.server).await?;
    println!("events page, server-side render over HTTP, signed in ({} runs each; rows: those the page rendered)", args.runs);
    println!("{:<52} {:>9} {:>9} {:>9} {:>6}", "query", "first", "median", "p95", "rows");
    let mut medians = Vec::new();
    for query in PAGES {
        let path = anchored(EventFilter::from_query(query), until).href();
        let label = if query.is_empty() { "(no filter, last 24 hours)" } else { query };
        medians.push(time_page(&args, label, &path, &cookie, "data-event-id=").await?);
    }
    println!("slowest median: {:.1} ms\n", medians.iter().cloned().fold(0.0, f64::max));

    println!("sessions page, server-side render over HTTP, signed in ({} runs each)", args.runs);
    println!("{:<52} {:>9} {:>9} {:>9} {:>6}", "query", "first", "median", "p95", "rows");
    let mut medians = Vec::new();
    for path in SESSION_PAGES {
        medians.push(time_page(&args, path, path, &cookie, "data-session-id=").await?);
    }
    println!("slowest median: {:.1} ms\n", medians.iter().cloned().fold(0.0, f64::max));

    println!("compare page, server-side render over HTTP, signed in ({} runs each; rows: event types)", args.runs);
    println!("{:<52} {:>9} {:>9} {:>9} {:>6}", "query", "first", "median", "p95", "rows");
    let mut medians = Vec::new();
    for query in COMPARE_PAGES {
        let view = crate::model::CompareView::from_query(query);
        let path = crate::model::CompareView { filter: anchored(view.filter.clone(), until), ..view }.href();
        medians.push(time_page(&args, query, &path, &cookie, "class=\"num difference\"").await?);
    }
    println!("slowest median: {:.1} ms\n", medians.iter().cloned().fold(0.0, f64::max));

    println!("concurrent use: {CONCURRENT_CLIENTS} signed-in clients for {CONCURRENT_SECONDS} s each, compressed as a browser asks");
    for path in ["/events", "/sessions"] {
        concurrent(&args.server, path, &cookie).await?;
    }
    println!();

    println!(
        "histogram aggregation as the explorer computes it, every environment and organization in scope, Vigil's own trail left out ({} runs each; events: those counted)",
        args.runs
    );
    println!("{:<52} {:>9} {:>9} {:>9} {:>6}", "query", "first", "median", "p95", "events");
    let mut medians = Vec::new();
    for query in CHARTS {
        let filter = EventFilter { scope: Scope::everything(), without_console: true, ..anchored(EventFilter::from_query(query), until) };
        let chart = || async {
            let now = until.unwrap_or_else(Utc::now);
            anyhow::Ok(histogram(&pool, &filter, resolve_span(&filter, now), now).await?)
        };
        let started = Instant::now();
        let total = chart().await?.total as usize;
        let first = started.elapsed();
        let times = time_runs(args.runs, || async { chart().await.map(drop) }).await?;
        medians.push(report(query, first, &times, total));
    }
    println!("slowest median: {:.1} ms", medians.iter().cloned().fold(0.0, f64::max));
    Ok(())
}

/// The filter with its range ending at `until` (when given) instead of now.
fn anchored(filter: EventFilter, until: Option<DateTime<Utc>>) -> EventFilter {
    match until {
        Some(until) => filter.with_span(resolve_span(&filter, until).from, until),
        None => filter,
    }
}

async fn time_runs<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    f().await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await?;
        times.push(started.elapsed());
    }
    Ok(times)
}

/// Print the first run's time, the median and p95 of the others in
/// milliseconds (and the rows rendered); returns the median. The first load
/// of a page computes what the server then keeps (the chart's counts of past
/// hours, the option counts of past days) until the past changes.
fn report(label: &str, first: Duration, times: &[Duration], rows: usize) -> f64 {
    let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let median = ms[ms.len() / 2];
    let p95 = ms[((ms.len() as f64 * 0.95).ceil() as usize).saturating_sub(1).min(ms.len() - 1)];
    let first = first.as_secs_f64() * 1000.0;
    println!("{label:<52} {first:>6.1} ms {median:>6.1} ms {p95:>6.1} ms {rows:>6}");
    median
}

/// Send one HTTP/1.1 request and read the whole response.
pub(crate) async fn exchange(server: &str, request: String) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// A GET of `path` with a bearer key.
pub(crate) fn keyed_get(server: &str, path: &str, key: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n")
}

/// A POST of a JSON batch of events to the ingest API.
pub(crate) fn ingest_request(server: &str, key: &str, body: &str) -> String {
    format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The body of a whole HTTP/1.1 response.
pub(crate) fn body_of(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// Create (or reset) the bench auditor, sign in, and return the session cookie.
async fn sign_in(pool: &sqlx::PgPool, server: &str) -> anyhow::Result<String> {
    use crate::auth::{generate_password, hash_password};
    let password = generate_password();
    let scope = crate::model::Scope::everything();
    let role = crate::model::Role::Auditor;
    crate::store::access::upsert_user(pool, "bench@vigil.local", &hash_password(&password), role, &scope, true).await?;
    let body = format!("email=bench%40vigil.local&password={}", crate::model::query_value(&password));
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {server}\r\nOrigin: http://{server}\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let response = exchange(server, request).await?;
    anyhow::ensure!(response.starts_with("HTTP/1.1 200"), "sign-in failed: {}", &response[..response.len().min(200)]);
    response
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: ").and_then(|c| c.split(';').next()).map(String::from))
        .ok_or_else(|| anyhow::anyhow!("sign-in set no cookie"))
}

/// A GET with the session cookie that reads the whole response; fails unless
/// it is a 200 without an error box. Returns the body.
async fn get(server: &str, path: &str, cookie: &str) -> anyhow::Result<String> {
    let response = fetch(server, path, cookie, "identity").await?;
    anyhow::ensure!(!response.contains("role=\"alert\""), "{path} rendered an error box");
    Ok(response)
}

/// A GET of a console page with the session cookie, accepting `encoding`;
/// fails unless it is a 200.
async fn fetch(server: &str, path: &str, cookie: &str, encoding: &str) -> anyhow::Result<String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {server}\r\nCookie: {cookie}\r\nAccept-Encoding: {encoding}\r\nConnection: close\r\n\r\n"
    );
    let response = exchange(server, request).await?;
    anyhow::ensure!(response.starts_with("HTTP/1.1 200"), "{path}: {}", &response[..response.len().min(200)]);
    Ok(response)
}

/// Time a page; print its median, p95 and how many rows (`marker`s) it rendered.
async fn time_page(args: &BenchArgs, label: &str, path: &str, cookie: &str, marker: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let rows = get(&args.server, path, cookie).await?.matches(marker).count();
    let first = started.elapsed();
    let times = time_runs(args.runs, || async { get(&args.server, path, cookie).await.map(drop) }).await?;
    Ok(report(&format!("{label:<52}"), first, &times, rows))
}

/// Requests per second and p50/p99 of [`CONCURRENT_CLIENTS`] clients fetching
/// `path` in a loop, compressed as a browser asks for it (the page is checked
/// for an error box once, uncompressed).
async fn concurrent(server: &str, path: &str, cookie: &str) -> anyhow::Result<()> {
    get(server, path, cookie).await?;
    let until = Instant::now() + Duration::from_secs(CONCURRENT_SECONDS);
    let clients: Vec<_> = (0..CONCURRENT_CLIENTS)
        .map(|_| {
            let (server, path, cookie) = (server.to_string(), path.to_string(), cookie.to_string());
            tokio::spawn(async move {
                let mut times = Vec::new();
                while Instant::now() < until {
                    let started = Instant::now();
                    fetch(&server, &path, &cookie, "gzip, deflate, br").await?;
                    times.push(started.elapsed());
                }
                Ok::<_, anyhow::Error>(times)
            })
        })
        .collect();
    let mut times = Vec::new();
    for client in clients {
        times.extend(client.await??);
    }
    let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).saturating_sub(1).min(ms.len() - 1)];
    println!(
        "{path:<20} {:>7.0} requests/s   p50 {:>6.1} ms   p99 {:>6.1} ms   (0 errors)",
        ms.len() as f64 / CONCURRENT_SECONDS as f64,
        at(0.5),
        at(0.99)
    );
    Ok(())
}
