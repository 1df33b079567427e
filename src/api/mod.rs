//! The console's server functions and the HTTP API. Thin: read the request,
//! call `store`/`query`, map errors.

mod events;
mod lifecycle;
mod sessions;
mod settings;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod events_api;
#[cfg(feature = "ssr")]
pub mod health;
#[cfg(feature = "ssr")]
pub mod heartbeat;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod openapi;

pub use events::*;
pub use lifecycle::*;
pub use sessions::*;
pub use settings::*;
