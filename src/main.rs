//! The `vigil` binary: `serve`, `demo` and `migrate`.

/// mimalloc instead of the system's allocator: with glibc's, a third of the
/// server's CPU time under 16 concurrent page loads went to `malloc` and
/// `free`. Built without transparent huge pages (`no_thp`), which would add
/// ≈40 MB to the server's resident memory.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use clap::Parser;
    use vigil::cli::{Cli, Command};

    vigil::cli::init_tracing();
    match Cli::parse().command {
        Command::Serve { database, server, ingest } => vigil::cli::serve(database, server, ingest).await,
        Command::Demo(args) => vigil::demo::run(args).await,
        Command::Bench(args) => vigil::bench::run(args).await,
        Command::Load(args) => vigil::bench::load::run(args).await,
        Command::Soak(args) => vigil::bench::soak::run(args).await,
        Command::BenchMonitor(args) => vigil::bench::monitor::run(args).await,
        Command::Verify(args) => vigil::cli::verify(args).await,
        Command::User { command, database } => vigil::cli::user(command, database).await,
        Command::Compact { database } => vigil::cli::compact(database).await,
        Command::Migrate { database } => vigil::store::connect(&database).await.map(drop),
    }
}

#[cfg(not(feature = "ssr"))]
pub fn main() {}
