//! Server functions behind the events page.

use leptos::prelude::*;

use crate::model::{EventPage, PageCursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// A page of the newest events, older than the `before` cursor when given.
#[server]
pub async fn list_events(before: Option<String>, limit: Option<u32>) -> Result<EventPage, ServerFnError> {
    let state = expect_context::<crate::server::AppState>();
    let cursor = match before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => Some(
            PageCursor::decode(text).ok_or_else(|| ServerFnError::new("invalid page cursor"))?,
        ),
    };
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    crate::query::list_events(&state.pool, cursor.as_ref(), limit)
        .await
        .map_err(crate::error::internal)
}
