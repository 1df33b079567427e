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
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod openapi;

pub use alerts::*;
pub use events::*;
pub use lifecycle::*;
pub use monitor::*;
pub use sessions::*;
pub use settings::*;
pub use views::*;

/// The name of what was deleted, or why it was not: a 404, or a 409 naming
/// the alert rules that use it (`what`: "channel", "service").
#[cfg(feature = "ssr")]
fn deleted(deletion: crate::store::Deletion, what: &str) -> Result<String, leptos::prelude::ServerFnError> {
    use crate::store::Deletion;
    match deletion {
        Deletion::Deleted(name) => Ok(name),
        Deletion::Missing => Err(crate::error::not_found(format!("no such {what}"))),
        Deletion::InUse(rules) => Err(crate::error::conflict(format!(
            "the {what} is used by the alert rules {}: change or delete them first",
            rules.iter().map(|r| format!("“{r}”")).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// A page cursor from the URL, read by `decode`: absent or empty is none,
/// anything unreadable an error.
#[cfg(feature = "ssr")]
fn cursor_param<C>(text: Option<&str>, decode: impl Fn(&str) -> Option<C>) -> Result<Option<C>, leptos::prelude::ServerFnError> {
    text.filter(|t| !t.is_empty())
        .map(|t| decode(t).ok_or_else(|| crate::error::invalid("invalid page cursor")))
        .transpose()
}
