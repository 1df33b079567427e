//! `vigil demo`: realistic demo events — three environments, several
//! organizations and apps, dozens of users with their own browsers, devices and
//! home countries, sessions from sign-in to sign-out, the whole event vocabulary
//! and a daily and weekly rhythm. Events go through the same validation and
//! store code as the ingest API. `services` adds availability checks and alert rules.

use std::time::Instant;

use chrono::{DateTime, Duration, Timelike, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::config::DatabaseConfig;

mod services;

#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub ingest: crate::config::IngestConfig,
    /// Skip redaction and enrichment (to measure what they cost).
    #[arg(long)]
    pub no_enrich: bool,
    /// Store events without their leaves and batch roots, to measure what
    /// sealing costs at ingest (the sealer later computes such batches' roots
    /// from the stored rows; verification cannot name an edited event in them).
    #[arg(long)]
    pub no_seal: bool,
    /// Spread events over this many days, ending now.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// How many events to write.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Events per insert batch.
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// Seed of the random generator (the same seed gives the same data).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Do nothing when the store already holds events.
    #[arg(long)]
    pub if_empty: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Where the console will listen: the demo's availability check of the console calls it.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub console_addr: String,
}

/// Generate and store demo events, printing progress and the ingest rate.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let pool = crate::store::connect(&args.database).await?;
    services::seed(&pool, &args.console_addr, args.seed).await?;
    if args.if_empty && crate::query::has_events(&pool).await? {
        println!("demo: the store already holds events; nothing to do");
        return Ok(());
    }
    let progress = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(args.events) };
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} events ({per_sec}, eta {eta})")
            .expect("valid template"),
    );

    let pipeline = crate::ingest::Pipeline::new(&args.ingest)?;
    let started = Instant::now();
    let mut generator = Generator::new(args.seed, args.days, Utc::now(), args.events);
    let mut in_flight = JoinSet::new();
    let mut written = 0u64;
    let mut produced = 0u64;
    while produced < args.events {
        let want = (args.events - produced).min(args.batch as u64) as usize;
        let now = Utc::now();
        let events = generator.take(want);
        if events.is_empty() {
            break;
        }
        let batch: Vec<_> = events
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut event = crate::ingest::validate(i, v, now).map_err(|r| anyhow::anyhow!("demo event rejected: {r:?}"))?;
                if !args.no_enrich {
                    pipeline.prepare(&mut event);
                }
                Ok::<_, anyhow::Error>(event)
            })
            .collect::<Result<_, _>>()?;
        produced += batch.len() as u64;
        let pool = pool.clone();
        let sealing = if args.no_seal { crate::store::Sealing::Off } else { crate::store::Sealing::On };
        in_flight.spawn(async move { crate::store::insert(&pool, &batch, sealing).await });
        if in_flight.len() >= 2 {
            written += collect_one(&mut in_flight, &progress).await?;
        }
    }
    while !in_flight.is_empty() {
        written += collect_one(&mut in_flight, &progress).await?;
    }
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let deriving = Instant::now();
    crate::store::derive::catch_up(&pool, std::time::Duration::from_secs(600)).await?;
    println!("demo: derived counts, names and sessions in {:.1} s", deriving.elapsed().as_secs_f64());
    println!(
        "demo: wrote {written} events over {} days in {seconds:.1} s ({:.0} events/s)",
        args.days,
        written as f64 / seconds
    );
    Ok(())
}

async fn collect_one(
    set: &mut JoinSet<sqlx::Result<crate::store::InsertOutcome>>,
    progress: &ProgressBar,
) -> anyhow::Result<u64> {
    let outcome = set.join_next().await.expect("a task is in flight")??;
    progress.inc(outcome.inserted + outcome.duplicates);
    Ok(outcome.inserted)
}

const ORGANIZATIONS: [(&str, &str, &str); 5] = [
    ("org_acme", "Acme Corp", "acme.example"),
    ("org_globex", "Globex", "globex.example"),
    ("org_initech", "Initech", "initech.example"),
    ("org_umbrella", "Umbrella Health", "umbrella.example"),
    ("org_stark", "Stark Logistics", "stark.example"),
];

const APPS: [(&str, &str); 7] = [
    ("app_insight", "Insight"),
    ("app_live_tracking", "Live Tracking"),
    ("app_billing", "Billing Portal"),
    ("app_fleet", "Fleet Manager"),
    ("app_hr", "HR Hub"),
    ("app_studio", "Data Studio"),
    ("app_support", "Support Desk"),
];

/// An app only development runs, and a role only staging changes (see `activity`).
const PREVIEW_APP: (&str, &str) = ("app_labs", "Labs (preview)");
const STAGING_ONLY_ROLE: &str = "Release Manager";

const FIRST_NAMES: [&str; 24] = [
    "Ana", "Ben", "Chiara", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Ivan", "Jun", "Kofi",
    "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma",
    "Vikram", "Wen", "Yara",
];
const LAST_NAMES: [&str; 16] = [
    "Silva", "Müller", "Rossi", "Ivanova", "Yılmaz", "Haddad", "Pereira", "Sato", "Novak", "Chen",
    "Mensah", "Schmidt", "García", "Kowalski", "Lindqvist", "Iyer",
];
const ROLES: [(&str, u32); 5] =
    [("viewer", 40), ("editor", 30), ("support", 12), ("admin", 8), ("owner", 3)];

/// Public address blocks of real networks, by country.
const NETWORKS: [(&str, &str); 12] = [
    ("US", "73.162"), ("US", "24.5"), ("GB", "81.2"), ("DE", "91.64"), ("FR", "90.84"),
    ("JP", "126.0"), ("BR", "177.32"), ("IN", "49.36"), ("AU", "1.120"), ("NL", "145.53"),
    ("SG", "116.86"), ("ZA", "41.13"),
];

const USER_AGENTS: [&str; 10] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
];

/// Activity during a session: event type, what it acts on, relative weight.
const ACTIVITIES: [(&str, &str, u32); 36] = [
    ("app.view", "app", 200),
    ("data_query.execute", "data_source", 120),
    ("app.update", "app", 50),
    ("app.create", "app", 12),
    ("app.delete", "app", 4),
    ("app.move", "app", 6),
    ("app.trash", "app", 5),
    ("app.restore", "app", 3),
    ("folder.create", "folder", 8),
    ("folder.update", "folder", 6),
    ("folder.delete", "folder", 3),
    ("user_group.create", "user_group", 3),
    ("user_group.update", "user_group", 4),
    ("user_group.delete", "user_group", 1),
    ("user_group.member_add", "user_group", 14),
    ("user_group.member_remove", "user_group", 7),
    ("user_group.member_role_change", "user_group", 6),
    ("user_group.leave", "user_group", 2),
    ("data_source.create", "data_source", 3),
    ("data_source.update", "data_source", 6),
    ("data_source.delete", "data_source", 1),
    ("data_source.permission_grant", "data_source", 7),
    ("data_source.permission_update", "data_source", 4),
    ("data_source.permission_revoke", "data_source", 4),
    ("library_query.create", "library_query", 7),
    ("library_query.update", "library_query", 10),
    ("library_query.delete", "library_query", 2),
    ("library_query.publish", "library_query", 5),
    ("role.update", "role", 4),
    ("role.permission_add", "role", 5),
    ("role.permission_remove", "role", 3),
    ("api_key.create", "api_key", 2),
    ("app.export", "app", 6),
    ("api.access", "endpoint", 0),
    ("session.sign_in", "", 0),
    ("session.sign_out", "", 0),
];

const FOLDERS: [&str; 6] = ["Operations", "Finance", "Shared", "Archive", "Customer Success", "Engineering"];
const GROUPS: [&str; 6] = ["Support Tier 1", "Finance Team", "Dispatchers", "Data Analysts", "Managers", "Contractors"];
const DATA_SOURCES: [&str; 5] = ["Orders DB", "Warehouse (Snowflake)", "CRM", "Telemetry Lake", "HR Records"];
const QUERIES: [&str; 6] = ["Daily revenue", "Late deliveries", "Open tickets", "Churn by region", "Payroll summary", "Fleet utilisation"];
const TARGET_ROLES: [&str; 5] = ["Support", "Billing Admin", "Dispatcher", "Auditor", "Developer"];
const PERMISSIONS: [&str; 7] = [
    "Live Tracking Page", "Export Data", "Edit Dashboards", "Manage Users", "View Billing",
    "Run Queries", "Publish Queries",
];
const API_ROUTES: [(&str, &str); 8] = [
    ("GET", "/api/v2/shipments"),
    ("GET", "/api/v2/shipments/{id}"),
    ("POST", "/api/v2/shipments"),
    ("GET", "/api/v2/invoices"),
    ("PATCH", "/api/v2/invoices/{id}"),
    ("GET", "/api/v2/employees"),
    ("DELETE", "/api/v2/drivers/{id}"),
    ("POST", "/api/v2/reports/run"),
];
const ENVIRONMENTS: [(&str, u32); 3] = [("production", 70), ("staging", 20), ("development", 10)];
/// Relative activity by hour of day (UTC).
const HOURLY: [u32; 24] = [2, 1, 1, 1, 2, 3, 5, 8, 11, 13, 13, 12, 11, 12, 13, 12, 10, 8, 6, 5, 4, 3, 3, 2];

struct User {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    org: usize,
    ip_prefix: &'static str,
    user_agent: &'static str,
    machine_id: String,
    environment: &'static str,
}

pub(crate) struct Generator {
    rng: SmallRng,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    users: Vec<User>,
    user_weights: WeightedIndex<u32>,
    activity_weights: WeightedIndex<u32>,
    hour_weights: WeightedIndex<u32>,
    pending: Vec<Value>,
    /// The events of the sessions going on now, which end the last day.
    live: Vec<Value>,
    /// Events to generate for each day of the range, oldest first.
    quotas: Vec<usize>,
    /// The next day to generate.
    day: usize,
    sessions: u64,
    booted_days: std::collections::HashSet<(i64, &'static str)>,
}

impl Generator {
    pub(crate) fn new(seed: u64, days: u32, now: DateTime<Utc>, total: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let days = days.max(1);
        let start = now - Duration::days(i64::from(days));
        // Weekends are quieter; each day gets its share of the total.
        let weights: Vec<f64> = (0..days)
            .map(|d| {
                let date = (start + Duration::days(i64::from(d))).date_naive();
                let weekend = matches!(chrono::Datelike::weekday(&date), chrono::Weekday::Sat | chrono::Weekday::Sun);
                if weekend { 0.3 } else { 1.0 }
            })
            .collect();
        let sum: f64 = weights.iter().sum();
        let mut quotas: Vec<usize> = weights.iter().map(|w| (total as f64 * w / sum) as usize).collect();
        let assigned: usize = quotas.iter().sum();
        if let Some(last) = quotas.last_mut() {
            *last += total as usize - assigned;
        }
        let env_weights = WeightedIndex::new(ENVIRONMENTS.iter().map(|e| e.1)).expect("weights");
        let role_weights = WeightedIndex::new(ROLES.iter().map(|r| r.1)).expect("weights");
        let mut users = Vec::new();
        for (i, first) in FIRST_NAMES.iter().enumerate() {
            for last in LAST_NAMES.iter().skip(i % 3).step_by(7) {
                let org = users.len() % ORGANIZATIONS.len();
                let slug = format!("{}.{}", ascii(first), ascii(last));
                let (_, prefix) = NETWORKS.choose(&mut rng).expect("networks");
                users.push(User {
                    id: format!("usr_{:04}", users.len() + 1),
                    name: format!("{first} {last}"),
                    email: format!("{slug}@{}", ORGANIZATIONS[org].2),
                    role: ROLES[role_weights.sample(&mut rng)].0,
                    org,
                    ip_prefix: prefix,
                    user_agent: USER_AGENTS.choose(&mut rng).expect("agents"),
                    machine_id: format!("mach-{:08x}", rng.gen::<u32>()),
                    environment: ENVIRONMENTS[env_weights.sample(&mut rng)].0,
                });
            }
        }
        let user_weights = WeightedIndex::new((0..users.len()).map(|i| 1 + (i as u32 * 7) % 13)).expect("weights");
        let mut generator = Generator {
            rng,
            now,
            start,
            users,
            user_weights,
            activity_weights: WeightedIndex::new(ACTIVITIES.iter().map(|a| a.2)).expect("weights"),
            hour_weights: WeightedIndex::new(HOURLY).expect("weights"),
            pending: Vec::new(),
            live: Vec::new(),
            quotas,
            day: 0,
            sessions: 0,
            booted_days: Default::default(),
        };
        generator.reserve_live_sessions();
        generator
    }

    /// Make the sessions going on now, which the last day ends with: their
    /// events count in the total, taken from the last days' quotas, so that
    /// no quota cuts them (a weekend's last day was once smaller than them).
    fn reserve_live_sessions(&mut self) {
        self.live_sessions();
        self.live = std::mem::take(&mut self.pending);
        let mut live = self.live.len();
        for quota in self.quotas.iter_mut().rev() {
            let taken = live.min(*quota);
            *quota -= taken;
            live -= taken;
        }
    }

    /// The next `n` events (fewer at the end of the range), in time order:
    /// generated a day at a time, like a real feed.
    pub(crate) fn take(&mut self, n: usize) -> Vec<Value> {
        while self.pending.len() < n && self.day < self.quotas.len() {
            self.fill_day();
        }
        let rest = self.pending.split_off(n.min(self.pending.len()));
        std::mem::replace(&mut self.pending, rest)
    }

    /// Sessions starting on the current day until its quota is met, sorted by time.
    fn fill_day(&mut self) {
        let first = self.pending.len();
        let quota = self.quotas[self.day];
        let mut attempts = 0;
        while self.pending.len() - first < quota && attempts < quota * 4 + 100 {
            self.session();
            attempts += 1;
        }
        self.pending.truncate(first + quota);
        if self.day + 1 == self.quotas.len() {
            self.pending.append(&mut self.live);
        }
        let time = |v: &Value| v["occurred_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        self.pending[first..].sort_by_key(time);
        self.day += 1;
    }

    /// A moment of the current day, with the daily rhythm.
    fn moment(&mut self) -> DateTime<Utc> {
        let date = (self.start + Duration::days(self.day as i64)).date_naive();
        loop {
            let hour = self.hour_weights.sample(&mut self.rng) as u32;
            let t = date.and_hms_opt(hour, 0, 0).expect("valid hour").and_utc()
                + Duration::seconds(self.rng.gen_range(0..3600));
            if t <= self.now || date >= self.now.date_naive() {
                return t.min(self.now);
            }
        }
    }

    /// One session of one user: sign-in, activity, usually sign-out.
    fn session(&mut self) {
        let user_index = self.user_weights.sample(&mut self.rng);
        let mut t = self.moment();
        let environment = if self.rng.gen_bool(0.85) {
            self.users[user_index].environment
        } else {
            ENVIRONMENTS.choose(&mut self.rng).expect("environments").0
        };
        self.maybe_boot(t, environment);
        let ip = self.user_ip(user_index);
        self.sessions += 1;
        let session_id = format!("ses_{:08x}{:06x}", self.rng.gen::<u32>(), self.sessions);

        if self.rng.gen_bool(0.04) {
            let mut failed = self.base("session.sign_in", t, environment, user_index, None, &ip);
            failed["outcome"] = json!("failure");
            failed["reason"] = json!("wrong password");
            self.pending.push(failed);
            t += Duration::seconds(self.rng.gen_range(5..40));
        }
        let mut sign_in = self.base("session.sign_in", t, environment, user_index, Some(&session_id), &ip);
        sign_in["reason"] = json!("password and one-time code verified");
        self.pending.push(sign_in);

        let actions = self.rng.gen_range(2..30);
        for _ in 0..actions {
            t += Duration::seconds(self.rng.gen_range(4..600));
            if t > self.now {
                return;
            }
            let event = if self.rng.gen_bool(0.12) {
                self.api_access(t, environment, user_index, &session_id, &ip)
            } else {
                self.activity(t, environment, user_index, &session_id, &ip)
            };
            self.pending.push(event);
        }
        if self.rng.gen_bool(0.75) {
            t += Duration::seconds(self.rng.gen_range(10..300));
            if t <= self.now {
                let event = self.base("session.sign_out", t, environment, user_index, Some(&session_id), &ip);
                self.pending.push(event);
            }
        }
    }

    /// Sessions going on now (no sign-out, activity up to a minute ago), so
    /// the sessions page has something to show right after loading the demo,
    /// with each flag on its first screen: a few users signed in at home
    /// under an hour ago and now from abroad (new country, impossible
    /// travel), one on a machine never seen before (new device).
    fn live_sessions(&mut self) {
        const LIVE: usize = 14;
        const ABROAD: usize = 3;
        for n in 0..LIVE {
            let user_index = self.user_weights.sample(&mut self.rng);
            let environment = self.users[user_index].environment;
            let start = self.now - Duration::minutes(self.rng.gen_range(3..25));
            let ip = if n < ABROAD {
                let home = self.user_ip(user_index);
                self.live_session(start - Duration::minutes(50), start - Duration::minutes(40), environment, user_index, &home, None);
                let away: Vec<&str> = NETWORKS.iter().map(|n| n.1).filter(|p| *p != self.users[user_index].ip_prefix).collect();
                format!("{}.{}.{}", away.choose(&mut self.rng).expect("networks"), self.rng.gen_range(0..255), self.rng.gen_range(1..255))
            } else {
                self.user_ip(user_index)
            };
            let new_machine = (n == ABROAD).then(|| format!("mach-{:08x}", self.rng.gen::<u32>()));
            self.live_session(start, self.now - Duration::seconds(30), environment, user_index, &ip, new_machine);
        }
    }

    /// A session from `start` with activity until `until` and no sign-out (it
    /// is signed out when `until` is well in the past); optionally on another machine.
    fn live_session(
        &mut self,
        start: DateTime<Utc>,
        until: DateTime<Utc>,
        environment: &'static str,
        user_index: usize,
        ip: &str,
        machine: Option<String>,
    ) {
        self.sessions += 1;
        let session_id = format!("ses_live{:06x}", self.sessions);
        let mut events = vec![self.base("session.sign_in", start, environment, user_index, Some(&session_id), ip)];
        events[0]["reason"] = json!("password and one-time code verified");
        let mut t = start;
        while t < until - Duration::seconds(60) {
            t += Duration::seconds(self.rng.gen_range(20..180));
            events.push(self.activity(t.min(until), environment, user_index, &session_id, ip));
        }
        if until < self.now - Duration::minutes(10) {
            events.push(self.base("session.sign_out", until, environment, user_index, Some(&session_id), ip));
        }
        for event in &mut events {
            if let Some(machine) = &machine {
                event["client"]["machine_id"] = json!(machine);
            }
        }
        self.pending.extend(events);
    }

    fn user_ip(&mut self, user_index: usize) -> String {
        let prefix = if self.rng.gen_bool(0.05) {
            NETWORKS.choose(&mut self.rng).expect("networks").1
        } else {
            self.users[user_index].ip_prefix
        };
        format!("{prefix}.{}.{}", self.rng.gen_range(0..255), self.rng.gen_range(1..255))
    }

    /// A server start-up event, once per environment and day.
    fn maybe_boot(&mut self, t: DateTime<Utc>, environment: &'static str) {
        let day = t.timestamp() / 86_400;
        if !self.booted_days.insert((day, environment)) {
            return;
        }
        let at = DateTime::from_timestamp(day * 86_400, 0).expect("valid day") + Duration::minutes(self.rng.gen_range(180..300));
        if at > self.now {
            return;
        }
        let version = format!("2.{}.{}", 10 + day % 7, day % 5);
        self.pending.push(json!({
            "id": format!("evt_boot_{environment}_{day}"),
            "occurred_at": at.to_rfc3339(),
            "environment": environment,
            "type": "server.start",
            "actor": {"type": "system", "id": "vigil-agent", "name": "Platform"},
            "target": {"type": "server", "id": format!("{environment}-api-1"), "name": format!("{environment}-api-1")},
            "reason": "scheduled deployment",
            "details": {"version": version, "hostname": format!("{environment}-api-1"), "boot_ms": 900 + day % 700},
        }));
    }

    fn base(
        &mut self,
        event_type: &str,
        t: DateTime<Utc>,
        environment: &str,
        user_index: usize,
        session_id: Option<&str>,
        ip: &str,
    ) -> Value {
        let user = &self.users[user_index];
        let (org_id, org_name, _) = ORGANIZATIONS[user.org];
        let mut actor = json!({"type": "user", "id": user.id, "name": user.name, "email": user.email, "role": user.role});
        if let Some(session_id) = session_id {
            actor["session_id"] = json!(session_id);
        }
        json!({
            "id": format!("evt_{:x}_{:012x}", t.timestamp_micros(), self.rng.gen::<u64>() & 0xffff_ffff_ffff),
            "occurred_at": t.to_rfc3339(),
            "environment": environment,
            "organization": {"id": org_id, "name": org_name},
            "type": event_type,
            "actor": actor,
            "client": {"ip": ip, "user_agent": user.user_agent, "machine_id": user.machine_id},
        })
    }

    fn activity(&mut self, t: DateTime<Utc>, environment: &str, user_index: usize, session_id: &str, ip: &str) -> Value {
        let (event_type, target_type, _) = ACTIVITIES[self.activity_weights.sample(&mut self.rng)];
        let mut event = self.base(event_type, t, environment, user_index, Some(session_id), ip);
        // Differences worth comparing: an app that only development runs, and
        // a role that only staging changes.
        let (app_id, app_name) = match environment {
            "development" if self.rng.gen_bool(0.2) => PREVIEW_APP,
            _ => *APPS.choose(&mut self.rng).expect("apps"),
        };
        event["app"] = json!({"id": app_id, "name": app_name});
        let pick = |rng: &mut SmallRng, names: &[&str]| names.choose(rng).copied().unwrap_or_default().to_string();
        let name = match target_type {
            "role" if environment == "staging" && self.rng.gen_bool(0.3) => STAGING_ONLY_ROLE.to_string(),
            "app" => app_name.to_string(),
            "folder" => pick(&mut self.rng, &FOLDERS),
            "user_group" => pick(&mut self.rng, &GROUPS),
            "data_source" => pick(&mut self.rng, &DATA_SOURCES),
            "library_query" => pick(&mut self.rng, &QUERIES),
            "role" => pick(&mut self.rng, &TARGET_ROLES),
            _ => format!("key-{}", self.rng.gen_range(100..999)),
        };
        let id = format!("{target_type}_{}", ascii(&name).replace(['.', ' ', '(', ')'], "_").to_lowercase());
        event["target"] = json!({"type": target_type, "id": id, "name": name});
        if let Some(changes) = self.changes_for(event_type, &name) {
            event["changes"] = changes;
        }
        match event_type {
            "data_query.execute" => {
                event["details"] = json!({
                    "query": format!("select * from {} where updated_at > now() - interval '1 day'", ascii(&name).to_lowercase().replace(' ', "_")),
                    "rows": self.rng.gen_range(0..5000),
                    "duration_ms": self.rng.gen_range(3..2400),
                });
            }
            "app.view" | "app.export" => {
                event["reason"] = json!(format!("has permission {} on {app_name} app", pick(&mut self.rng, &PERMISSIONS)));
            }
            "api_key.create" => {
                event["details"] = json!({"scopes": ["events:read"], "expires_in_days": 90});
            }
            _ => {}
        }
        if event_type.starts_with("role.") || event_type.contains("permission") || event_type.ends_with(".delete") {
            if self.rng.gen_bool(0.04) {
                event["outcome"] = json!("denied");
                event["reason"] = json!(format!("role {} lacks permission Manage Users", self.users[user_index].role));
                event.as_object_mut().expect("object").remove("changes");
            }
        } else if self.rng.gen_bool(0.01) {
            event["outcome"] = json!("failure");
            event["reason"] = json!("upstream timeout");
        }
        event
    }

    fn changes_for(&mut self, event_type: &str, name: &str) -> Option<Value> {
        let rng = &mut self.rng;
        let changes = match event_type {
            "app.update" => {
                let columns = rng.gen_range(1..4);
                let (theme, other) = if rng.gen_bool(0.5) { ("light", "dark") } else { ("dark", "light") };
                json!([{"field": "layout.columns", "old": columns, "new": other_than(columns, rng.gen_range(1..6))},
                       {"field": "theme", "old": theme, "new": other}])
            }
            "app.move" => {
                let (from, to) = (rng.gen_range(0..FOLDERS.len()), rng.gen_range(1..FOLDERS.len()));
                json!([{"field": "folder", "old": FOLDERS[from], "new": FOLDERS[(from + to) % FOLDERS.len()]}])
            }
            "app.trash" => json!([{"field": "trashed", "old": false, "new": true}]),
            "app.restore" => json!([{"field": "trashed", "old": true, "new": false}]),
            "folder.update" | "user_group.update" => json!([{"field": "name", "old": name, "new": format!("{name} (v{})", rng.gen_range(2..9))}]),
            "user_group.member_add" => json!([{"field": "members", "old": null, "new": format!("usr_{:04}", rng.gen_range(1..60))}]),
            "user_group.member_remove" => json!([{"field": "members", "old": format!("usr_{:04}", rng.gen_range(1..60)), "new": null}]),
            "user_group.member_role_change" => json!([{"field": "member_role", "old": "member", "new": "manager"}]),
            "data_source.update" => {
                let size = rng.gen_range(5..20);
                json!([{"field": "pool_size", "old": size, "new": other_than(size, rng.gen_range(5..40))}])
            }
            "data_source.permission_grant" | "data_source.permission_update" | "data_source.permission_revoke" => {
                let group = GROUPS.choose(rng).copied();
                let (old, new) = match event_type {
                    "data_source.permission_grant" => (None, Some("read")),
                    "data_source.permission_update" => (Some("read"), Some("write")),
                    _ => (Some("read"), None),
                };
                json!([{"field": format!("access.{}", group.unwrap_or_default()), "old": old, "new": new}])
            }
            "library_query.update" => json!([{"field": "sql", "old": "select count(*) from orders", "new": "select count(*) from orders where status = 'late'"}]),
            "library_query.publish" => json!([{"field": "published", "old": false, "new": true}]),
            "role.update" => json!([{"field": "description", "old": "Default role", "new": format!("{name} staff")}]),
            "role.permission_add" | "role.permission_remove" => {
                let mut before: Vec<&str> = PERMISSIONS.choose_multiple(rng, 3).copied().collect();
                let mut after = before.clone();
                if event_type == "role.permission_add" {
                    after.push(PERMISSIONS.iter().find(|p| !before.contains(p)).copied().unwrap_or("Export Data"));
                } else {
                    after.pop();
                }
                before.sort_unstable();
                after.sort_unstable();
                json!([{"field": "permissions", "old": before, "new": after}])
            }
            _ => return None,
        };
        Some(changes)
    }

    fn api_access(&mut self, t: DateTime<Utc>, environment: &str, user_index: usize, session_id: &str, ip: &str) -> Value {
        let mut event = self.base("api.access", t, environment, user_index, Some(session_id), ip);
        let (method, route) = *API_ROUTES.choose(&mut self.rng).expect("routes");
        let path = route.replace("{id}", &self.rng.gen_range(1000..99999).to_string());
        let denied = self.rng.gen_bool(0.05);
        let status = if denied { 403 } else if self.rng.gen_bool(0.02) { 500 } else if method == "POST" { 201 } else { 200 };
        let started = t - Duration::milliseconds(self.rng.gen_range(5..900));
        event["request"] = json!({
            "id": format!("req_{:016x}", self.rng.gen::<u64>()),
            "method": method, "path": path, "endpoint": route, "status": status,
            "started_at": started.to_rfc3339(), "ended_at": t.to_rfc3339(),
        });
        event["target"] = json!({"type": "endpoint", "id": route, "name": format!("{method} {route}")});
        let role = self.users[user_index].role;
        if denied {
            event["outcome"] = json!("denied");
            event["reason"] = json!(format!("role {role} has no permission for {method} {route}"));
        } else if status >= 500 {
            event["outcome"] = json!("failure");
            event["request"]["error"] = json!("upstream timeout after 30s");
        } else {
            event["reason"] = json!(format!("role {role} grants {method} {route}"));
            event["response"] = json!({"body": {"items": self.rng.gen_range(0..100), "took_ms": t.second()}});
        }
        event
    }
}

/// `new`, or one more when it is `old`: a change always changes something.
fn other_than(old: i32, new: i32) -> i32 {
    if new == old { new + 1 } else { new }
}

/// "Müller" → "muller": e-mail and id friendly.
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'ü' => 'u', 'ı' => 'i', 'í' => 'i', 'ç' => 'c', 'ã' => 'a', 'á' => 'a', 'é' => 'e', 'ö' => 'o',
            c => c,
        })
        .filter(char::is_ascii)
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_event_passes_validation() {
        let now = Utc::now();
        let mut generator = Generator::new(1, 30, now, 5_000);
        let events = generator.take(5_000);
        assert_eq!(events.len(), 5_000);
        let times: Vec<_> = events.iter().map(|e| DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap()).collect();
        let ordered = times.windows(2).filter(|w| w[0] <= w[1]).count();
        assert!(ordered as f64 > 0.95 * times.len() as f64, "mostly in time order");
        for (i, event) in events.iter().enumerate() {
            crate::ingest::validate(i, event, now).unwrap_or_else(|r| panic!("{r:?} in {event}"));
        }
        let types: std::collections::HashSet<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert!(types.len() > 25, "only {} event types", types.len());
    }

    #[test]
    fn every_generated_change_changes_its_field() {
        let mut generator = Generator::new(1, 30, Utc::now(), 5_000);
        let changes: Vec<Value> = generator.take(5_000).iter().filter_map(|e| e["changes"].as_array().cloned()).flatten().collect();
        assert!(changes.len() > 500, "only {} changes", changes.len());
        for change in &changes {
            assert_ne!(change["old"], change["new"], "{change}");
        }
    }

    #[test]
    fn sessions_are_going_on_right_after_the_demo_is_loaded() {
        // Whatever the day of the week (a weekend's last day is quieter).
        for days_ago in 0..7 {
            sessions_are_going_on_after_loading_at(Utc::now() - Duration::days(days_ago));
        }
    }

    fn sessions_are_going_on_after_loading_at(now: DateTime<Utc>) {
        let mut generator = Generator::new(1, 30, now, 5_000);
        let events = generator.take(5_000);
        let live: std::collections::HashSet<_> = events
            .iter()
            .filter_map(|e| e["actor"]["session_id"].as_str())
            .filter(|s| s.starts_with("ses_live"))
            .collect();
        assert_eq!(events.len(), 5_000, "the total, loaded at {now}");
        assert!(generator.take(1).is_empty(), "and no more");
        assert_eq!(live.len(), 17, "14 going on, 3 ended at home before going abroad, loaded at {now}");
        let latest = |id: &str| {
            events
                .iter()
                .filter(|e| e["actor"]["session_id"] == id)
                .map(|e| DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap())
                .max()
                .unwrap()
        };
        let going_on = live.iter().filter(|id| now - latest(id).to_utc() < Duration::minutes(5)).count();
        assert_eq!(going_on, 14, "seen within the idle timeout");
        let ended = events.iter().filter(|e| e["type"] == "session.sign_out" && e["actor"]["session_id"].as_str().is_some_and(|s| s.starts_with("ses_live")));
        assert_eq!(ended.count(), 3);
    }
}
