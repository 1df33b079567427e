//! One module per route.

pub mod event;
pub mod events;
pub mod not_found;
pub mod session;
pub mod sessions;
pub mod target;
