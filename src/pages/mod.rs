//! One module per route.

pub mod events;
pub mod not_found;
