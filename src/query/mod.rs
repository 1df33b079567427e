//! Reads for the console and the API: one function per question a screen asks.

mod events;
pub mod filter;
mod histogram;
mod options;
mod sessions;

pub use events::*;
pub use histogram::histogram;
pub use options::filter_options;
pub use sessions::{list_sessions, session_view};
