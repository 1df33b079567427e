//! The `vigil` binary: `serve`, `demo` and `migrate`.

/// mimalloc instead of the system's allocator: with glibc's, a third of the
/// server's CPU time under 16 concurrent page loads went to `malloc` and
/// `free`. Built without transparent huge pages (`no_thp`), which would add
/// ≈40 MB to the server's resident memory.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`; the Rust bindings name
/// no constant for it): how many milliseconds freed memory stays with the
/// process before it goes back to the system.
#[cfg(feature = "ssr")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// 10 ms (mimalloc 2's default) instead of mimalloc 3's 1 s, in which an
/// export's pages of a second piled up: 233 MB at its peak against 192 MB.
#[cfg(feature = "ssr")]
const PURGE_DELAY_MS: std::ffi::c_long = 10;

#[cfg(feature = "ssr")]
fn main() -> anyhow::Result<()> {
    // SAFETY: sets a number mimalloc reads when it frees memory, before any
    // other thread runs (the call is not thread-safe).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run())
}

#[cfg(feature = "ssr")]
async fn run() -> anyhow::Result<()> {
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
