//! The console's server functions and the HTTP API. Thin: read the request,
//! call `store`/`query`, map errors.

mod alerts;
mod events;
mod lifecycle;
mod monitor;
mod sessions;
mod settings;
mod views;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod events_api;
#[cfg(feature = "ssr")]
mod form;
#[cfg(feature = "ssr")]
pub mod health;
#[cfg(feature = "ssr")]
pub mod heartbeat;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod openapi;

pub use alerts::*;
pub use events::*;
pub use lifecycle::*;
pub use monitor::*;
pub use sessions::*;
pub use settings::*;
pub use views::*;
