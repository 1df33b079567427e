//! Command-line interface of the `vigil` binary and the start-up sequence:
//! configuration → telemetry → pool and migrations → serve.

use clap::{Parser, Subcommand};
use leptos::config::get_configuration;
use tracing_subscriber::EnvFilter;

use crate::config::{DatabaseConfig, IngestConfig, ServerConfig};
use crate::demo::DemoArgs;
use crate::server::AppState;

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
    /// Apply database migrations and create the coming partitions, then exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

/// Log to stderr, filtered by `RUST_LOG` (default: info for Vigil, warn elsewhere).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,vigil=info,sqlx=error"));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
}

/// Connect, migrate, and serve until interrupted.
pub async fn serve(database: DatabaseConfig, server: ServerConfig, ingest: IngestConfig) -> anyhow::Result<()> {
    let leptos_options = get_configuration(None)?.leptos_options;
    let pool = crate::store::connect(&database).await?;
    let state = AppState::new(leptos_options, pool, server, &ingest)?;
    crate::server::serve(state).await
}
