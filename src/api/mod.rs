//! The console's server functions and the HTTP API. Thin: read the request,
//! call `store`/`query`, map errors.

mod events;
#[cfg(feature = "ssr")]
pub mod ingest;

pub use events::*;
