//! One module per route.

pub mod data;
pub mod event;
pub mod events;
pub mod login;
pub mod session;
pub mod sessions;
pub mod settings;
pub mod target;
pub mod verify;
