//! Reads for the console and the API: one function per question a screen asks.

pub mod alerts;
pub mod compare;
mod events;
mod export;
pub mod filter;
mod histogram;
pub mod memo;
mod options;
pub mod pages;
mod sessions;

pub use events::*;
pub use export::{export_events, export_pages, export_position_at, export_upto, ExportPage, ExportPosition};
pub use histogram::{histogram, histogram_keeping_past, Count, PastCounts};
pub use options::{filter_options, ValueDays, ValueCounts};
pub use sessions::{list_sessions, session_view};

use sqlx::postgres::PgRow;
use sqlx::FromRow;

/// `rows` as `T`, which borrows its text from them instead of copying it.
fn decoded<'r, T: FromRow<'r, PgRow>>(rows: &'r [PgRow]) -> sqlx::Result<Vec<T>> {
    rows.iter().map(T::from_row).collect()
}

/// Keep `limit` rows (of `limit + 1` read); the cursor of the last one kept
/// when more followed.
fn split_page<R, C>(mut rows: Vec<R>, limit: usize, cursor: impl Fn(&R) -> C) -> (Vec<R>, Option<C>) {
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(cursor);
        (rows, next)
    } else {
        (rows, None)
    }
}
