//! Reusable view pieces.

pub mod activity_chart;
pub mod event_detail;
pub mod event_table;
pub mod filter_bar;
pub mod time;
