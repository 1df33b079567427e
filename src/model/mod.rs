//! Types shared by the server and the browser: the contract between server
//! functions and pages. Serde only; everything here compiles to wasm.

mod event;
mod explore;
mod filter;
mod time;

pub use event::*;
pub use explore::*;
pub use filter::*;
pub use time::*;
