//! Reusable view pieces.

pub mod event_table;
pub mod time;
