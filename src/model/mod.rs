//! Types shared by the server and the browser: the contract between server
//! functions and pages. Serde only; everything here compiles to wasm.

mod access;
mod chart;
mod client;
mod compare;
mod event;
mod explore;
mod filter;
mod health;
mod integrity;
mod lifecycle;
mod monitor;
mod rules;
mod session;
mod time;
mod url;
mod views;
mod vocabulary;

pub use access::*;
pub use chart::*;
pub use client::*;
pub use compare::*;
pub use event::*;
pub use explore::*;
pub use filter::*;
pub use health::*;
pub use integrity::*;
pub use lifecycle::*;
pub use monitor::*;
pub use rules::*;
pub use session::*;
pub use time::*;
pub use url::*;
pub use views::*;
pub use vocabulary::*;
