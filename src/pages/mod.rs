//! One module per route.

pub mod alerts;
pub mod compare;
pub mod data;
pub mod event;
pub mod events;
pub mod login;
pub mod monitoring;
pub mod session;
pub mod sessions;
pub mod services;
pub mod settings;
pub mod target;
pub mod verify;
pub mod views;
