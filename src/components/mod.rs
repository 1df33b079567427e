//! View pieces the pages are built from. Pages import from here, never from
//! each other.

pub mod activity_chart;
pub mod badges;
pub mod copy_button;
pub mod current_user;
#[cfg(feature = "hydrate")]
pub mod echarts;
pub mod errors;
pub mod event_detail;
pub mod event_table;
pub mod facts;
pub mod filter_bar;
pub mod line_chart;
pub mod navigation;
pub mod service_state;
pub mod server_data;
pub mod settings;
pub mod time;
pub mod timeline;
pub mod views_menu;
pub mod world_map;
