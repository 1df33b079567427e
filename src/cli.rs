//! Command-line interface of the `vigil` binary and the start-up sequence:
//! configuration → telemetry → pool and migrations → serve.

use clap::{Parser, Subcommand};
use leptos::config::get_configuration;
use tracing_subscriber::EnvFilter;

use crate::config::{DatabaseConfig, IngestConfig, ServerConfig};
use crate::demo::DemoArgs;
use crate::state::AppState;

#[derive(Parser, Debug)]
#[command(name = "vigil", version, about = "Self-hosted audit-log console")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the console and the HTTP API.
    Serve {
        #[command(flatten)]
        database: DatabaseConfig,
        #[command(flatten)]
        server: ServerConfig,
        #[command(flatten)]
        ingest: IngestConfig,
    },
    /// Generate realistic demo events and store them.
    Demo(DemoArgs),
    /// Time the explorer's pages and charts on the stored data (see `make bench`).
    Bench(crate::bench::BenchArgs),
    /// Send demo events to a running server through its HTTP ingest API (see `make bench`).
    Load(crate::bench::load::LoadArgs),
    /// Alert rules, notification latency and check schedules on a running server (see `make bench-monitor`).
    BenchMonitor(crate::bench::monitor::MonitorBenchArgs),
    /// A mixed load of pages, API reads and ingest on a running server (see `make reliability`).
    Soak(crate::bench::soak::SoakArgs),
    /// Check that no stored event, batch or checkpoint was altered, deleted or
    /// forged since it was sealed; exits 1 and names every finding.
    Verify(VerifyArgs),
    /// Manage console users.
    User {
        #[command(subcommand)]
        command: UserCommand,
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Rebuild the indexes of every month that has ended and is due, then of the
    /// id ledger and the rollups (what the retention job does one month at a
    /// time), then the sessions' (the retention job: once a day), printing
    /// each and the bytes saved.
    Compact {
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Apply database migrations and create the coming partitions, then exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// The seal key file whose public half checks the signatures.
    #[arg(long, env = "VIGIL_SEAL_KEY", default_value = crate::config::DEFAULT_SEAL_KEY)]
    pub seal_key: std::path::PathBuf,
    /// Check against this public key (base64) instead of the key file's: the
    /// copy kept away from this machine.
    #[arg(long)]
    pub trusted_key: Option<String>,
    /// The checkpoint log kept outside the database.
    #[arg(long, env = "VIGIL_CHECKPOINT_LOG", default_value = crate::config::DEFAULT_CHECKPOINT_LOG)]
    pub checkpoint_log: std::path::PathBuf,
    /// Print the seal key's public key and exit.
    #[arg(long)]
    pub public_key: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `vigil verify`: the report, and exit status 1 on any finding.
pub async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    use crate::state::seal_key::{parse_public_key, SealKey};

    // Verifying never creates a key: a missing one is an error naming the path.
    if args.public_key {
        println!("{}", SealKey::load(&args.seal_key)?.public_key_text());
        return Ok(());
    }
    let key = match &args.trusted_key {
        Some(text) => parse_public_key(text)?,
        None => SealKey::load(&args.seal_key)?.public_key(),
    };
    let pool = crate::store::connect(&args.database).await?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} batches {msg}")
            .expect("a valid template"),
    );
    let mut progress = |done: i64, total: i64, events: i64| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(format!("{events} events"));
    };
    let log = Some(args.checkpoint_log.as_path());
    let report = crate::integrity::verify(&pool, &key, log, None, &mut progress).await?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    if !report.is_clean() {
        std::process::exit(1);
    }
    Ok(())
}

fn print_report(report: &crate::model::VerifyReport) {
    let rate = report.events as f64 / report.seconds.max(1e-6);
    println!(
        "Checked {} events in {} batches and {} retention drops against {} signed checkpoints (database and log) in {:.1} s ({rate:.0} events/s).",
        report.events, report.entries - report.prunes, report.prunes, report.checkpoints, report.seconds
    );
    match report.last_checkpoint {
        Some((position, at)) => println!("Newest checkpoint: position {position}, {}.", at.format("%Y-%m-%d %H:%M:%S UTC")),
        None => println!("No checkpoint yet: nothing is proven until the first one is written."),
    }
    if report.unsealed_events > 0 {
        println!("{} events are newer than the last checkpoint and not covered yet.", report.unsealed_events);
    }
    if report.is_clean() {
        println!("OK: nothing was altered, deleted or forged.");
    }
    for finding in &report.findings {
        println!("FOUND {}: {}", finding.kind, finding.message);
    }
}

/// `vigil compact`: every due month, one after another, then the sessions'
/// indexes, with what each saved.
pub async fn compact(database: DatabaseConfig) -> anyhow::Result<()> {
    use crate::lifecycle::compact;

    let pool = crate::store::connect(&database).await?;
    let due = compact::due(crate::store::retention::partitions(&pool).await?, chrono::Utc::now());
    if due.is_empty() {
        println!("No month to compact: every month that has ended is compacted already.");
    }
    let mb = |bytes: i64| bytes as f64 / 1e6;
    let report = |done: compact::Compaction| {
        println!("  {:.0} MB → {:.0} MB ({:.0} MB saved) in {:.1} s", mb(done.bytes_before), mb(done.bytes_after), mb(done.saved()), done.seconds);
    };
    for partition in &due {
        println!("Compacting {} ({} events, {:.0} MB)…", partition.name, partition.rows, mb(partition.bytes));
        report(compact::compact(&pool, partition).await?);
    }
    if !due.is_empty() {
        println!("Compacting the id ledger and the rollups…");
        report(compact::compact_growing_tables(&pool).await?);
    }
    println!("Rebuilding the sessions' indexes…");
    report(compact::compact_sessions(&pool).await?);
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a console user. The password is read from stdin with
    /// --password-stdin, otherwise generated and printed once.
    Add {
        /// The user's e-mail address (their sign-in name).
        email: String,
        /// Make the user an administrator (same as --role admin).
        #[arg(long)]
        admin: bool,
        /// admin, auditor or viewer.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// For viewers: environments they may see (repeat or comma-separate; * for all).
        #[arg(long = "env", value_delimiter = ',')]
        environments: Vec<String>,
        /// For viewers: organizations they may see (repeat or comma-separate; * for all).
        /// A viewer without both sees nothing.
        #[arg(long = "org", value_delimiter = ',')]
        organizations: Vec<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// If the user exists, set this password, role and scope and end their
        /// console sessions (a disabled user stays disabled).
        #[arg(long)]
        reset: bool,
    },
}

/// Run a `vigil user …` command.
pub async fn user(command: UserCommand, database: DatabaseConfig) -> anyhow::Result<()> {
    use crate::model::{Role, Scope};
    use crate::auth::{generate_password, hash_password};

    let UserCommand::Add { email, admin, role, environments, organizations, password_stdin, reset } = command;
    let email = email.trim().to_lowercase();
    anyhow::ensure!(email.contains('@'), "{email:?} is not an e-mail address");
    let role = if admin { Role::Admin } else { Role::parse(&role).ok_or_else(|| anyhow::anyhow!("role must be {}", Role::choices()))? };
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        let least = crate::model::MIN_PASSWORD_CHARS;
        anyhow::ensure!(line.chars().count() >= least, "the password must have at least {least} characters");
        line
    } else {
        generate_password()
    };
    let pool = crate::store::connect(&database).await?;
    let scope = if role == Role::Viewer { Scope::new(environments, organizations) } else { Scope::everything() };
    let saved = crate::store::access::upsert_user(&pool, &email, &hash_password(&password), role, &scope, reset).await?;
    let saved = saved.ok_or_else(|| anyhow::anyhow!("{email} already has an account (add --reset to replace its password)"))?;
    println!("{} console user {email} ({}, {})", if reset { "Saved" } else { "Added" }, role.as_str(), scope.describe());
    if scope.is_empty() {
        eprintln!("warning: this viewer sees nothing until given --env and --org (* for all)");
    }
    if saved.disabled {
        eprintln!("warning: {email} is disabled; an administrator can enable them in Settings → Users");
    }
    if !password_stdin {
        println!("Password (shown once): {password}");
    }
    Ok(())
}

/// Log to stderr, filtered by `RUST_LOG` (default: info for Vigil, warn elsewhere).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,vigil=info,sqlx=error"));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
}

/// Connect, migrate, and serve until interrupted.
pub async fn serve(database: DatabaseConfig, server: ServerConfig, ingest: IngestConfig) -> anyhow::Result<()> {
    let mut leptos_options = get_configuration(None)?.leptos_options;
    // The bundle's hashed file names, from hash.txt beside this binary when
    // the build wrote one (plain names otherwise).
    leptos_options.hash_files = true;
    let pool = crate::store::connect(&database).await?;
    // Cookie sessions past their expiry are deleted hourly.
    let cookie_sessions = tower_sessions_sqlx_store::PostgresStore::new(pool.clone());
    tokio::spawn(tower_sessions::ExpiredDeletion::continuously_delete_expired(
        cookie_sessions,
        std::time::Duration::from_secs(3600),
    ));
    let mut server = server;
    if server.secret.is_none() {
        tracing::info!("VIGIL_SECRET is not set: using the secret generated on the first start, kept in the database");
        server.secret = Some(crate::store::access::token_secret(&pool).await?);
    }
    let state = AppState::new(leptos_options, pool, server, &ingest)?;
    crate::server::serve(state).await
}
